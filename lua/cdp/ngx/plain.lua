--- cdp.ngx.plain: values as plain data for ngx.run_worker_thread, which
-- copies only nil, booleans, numbers, strings and tables of those (no
-- metatables, no functions). Documents travel as their description (a path,
-- or the bytes) and are rebuilt on the other side; errors lose their
-- metatable on the way and get it back from cdp.errors.
local document = require "cdp.document"
local errors = require "cdp.errors"

local plain = {}

local MARK = "__cdp_document"

-- Copy `v`, turning what `convert` recognizes into something else.
local function copy(v, convert, seen)
  if type(v) ~= "table" then return v end
  local converted = convert(v)
  if converted ~= nil then return converted end
  if seen[v] then error("cdp.ngx: a customer table cannot contain itself", 4) end
  seen[v] = true
  local out = {}
  for k, item in pairs(v) do out[k] = copy(item, convert, seen) end
  seen[v] = nil
  return out
end

local function describe(v)
  if document.is(v) then
    return { [MARK] = v.kind, path = v.path, data = v.data, content_type = v.content_type }
  end
  if getmetatable(v) ~= nil and not errors.is(v) then
    error("cdp.ngx: only plain tables and cdp documents cross into the worker thread", 5)
  end
  return nil
end

local function rebuild(v)
  local kind = v[MARK]
  if kind == "file" then return document.file(v.path, v.content_type) end
  if kind == "bytes" then return document.bytes(v.data, v.content_type) end
  return nil
end

--- For the way out (event loop -> thread): documents become descriptions.
function plain.out(v)
  return copy(v, describe, {})
end

--- In the thread: descriptions become documents again.
function plain.into(v)
  return copy(v, rebuild, {})
end

--- An error (or any result) as plain data; errors.new's metatable dropped.
function plain.result(v)
  return copy(v, function() return nil end, {})
end

--- Back in the event loop: an error gets its metatable again, and so does
-- the error a reconciled onboarding carries as its `cause`.
function plain.error(e)
  if type(e) ~= "table" or not errors.kinds[e.kind] or type(e.message) ~= "string" then return e end
  if type(e.cause) == "table" then e.cause = plain.error(e.cause) end
  return errors.new(e)
end

return plain
