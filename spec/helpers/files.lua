--- Small helpers the specs share: reading files, quoting for the shell,
-- temporary names, and a base64 encoder written independently of the C
-- core's (so that a spec comparing the two can fail).
local fs = require "cdp.sandbox.fs"

local files = {}

files.read = fs.read        -- contents, or nil when the file cannot be read
files.quote = fs.quote      -- a string quoted for /bin/sh

--- A fresh temporary path (the file itself is not left behind), with `ext`.
function files.tmpname(ext)
  local path = os.tmpname()
  os.remove(path)
  return path .. (ext or "")
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- Plain table-driven base64 of `s`.
function files.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for k = 3, 0, -1 do
      local idx = math.floor(n / 64 ^ k) % 64
      chars[#chars + 1] = B64:sub(idx + 1, idx + 1)
    end
    if not b then chars[3], chars[4] = "=", "=" elseif not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

return files
