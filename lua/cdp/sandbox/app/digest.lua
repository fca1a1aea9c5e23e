--- SHA-256 of decoded documents through LuaJIT's FFI and OpenSSL's libcrypto,
-- which nginx has loaded already.
local ffi = require "ffi"

ffi.cdef [[
unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md);
]]

local digest = {}

local function find_sha256()
  local ok, fn = pcall(function() return ffi.C.SHA256 end)
  if ok then return fn end
  local lib = ffi.load("crypto")
  return lib.SHA256
end

local SHA256 = find_sha256()
local out = ffi.new("unsigned char[32]")

--- Lowercase hex SHA-256 of a Lua string.
function digest.sha256_hex(data)
  SHA256(data, #data, out)
  local raw = ffi.string(out, 32)
  return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

return digest
