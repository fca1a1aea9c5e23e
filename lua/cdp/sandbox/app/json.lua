--- JSON for the sandbox: cjson, with unescaped slashes (as the CDP writes
-- paths) and a marker for empty arrays (Debian's cjson has no empty_array).
local cjson = require "cjson.safe"

local json = {}

json.null = cjson.null
json.EMPTY_ARRAY = "\0cdp-empty-array\0"

function json.decode(text)
  return cjson.decode(text)
end

function json.encode(value)
  local text = assert(cjson.encode(value))
  return (text:gsub("\\/", "/"):gsub('"\\u0000cdp%-empty%-array\\u0000"', "[]"))
end

--- An array for encoding: the empty-array marker when `t` is empty.
function json.array(t)
  if #t == 0 then return json.EMPTY_ARRAY end
  return t
end

--- Is `v` absent in the API's sense: missing or an explicit null?
function json.absent(v)
  return v == nil or v == cjson.null
end

return json
