--- Small file and process helpers for the sandbox's control side (plain Lua
-- 5.1/5.4, no C modules): the CLI and the spec helper run it outside nginx.
local fs = {}

--- Quote a string for /bin/sh.
function fs.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command; true when it exited with status 0 (5.1 and 5.4 differ).
function fs.run(cmd)
  local a, _, c = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and (c == nil or c == 0)
end

--- Output of a shell command (trailing newline removed).
function fs.capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return (out:gsub("\n$", ""))
end

function fs.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

--- Write a file; `private` makes it mode 0600 (its directory is 0700 anyway).
function fs.write(path, data, private)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(data)
  f:close()
  if private and not fs.run("chmod 600 " .. fs.quote(path)) then
    return nil, "cannot chmod " .. path
  end
  return true
end

function fs.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

function fs.mkdir_private(path)
  return fs.run("mkdir -p -m 700 " .. fs.quote(path) .. " && chmod 700 " .. fs.quote(path))
end

--- Is `pid` a live (non-zombie) process? Reads /proc, so no signal is sent.
function fs.alive(pid)
  local stat = fs.read("/proc/" .. tostring(pid) .. "/stat")
  if not stat then return false end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z"
end

--- The command line of `pid`, NUL separators turned into spaces.
function fs.cmdline(pid)
  local raw = fs.read("/proc/" .. tostring(pid) .. "/cmdline")
  return raw and raw:gsub("%z", " ") or nil
end

--- This process's own PID.
function fs.self_pid()
  local stat = fs.read("/proc/self/stat")
  return tonumber(stat and stat:match("^(%d+)"))
end

--- Sleep for `s` seconds (fractions allowed) without C modules.
function fs.sleep(s)
  os.execute("sleep " .. string.format("%.3f", s))
end

--- n random bytes as lowercase hex, from the kernel.
function fs.random_hex(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(n)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

return fs
