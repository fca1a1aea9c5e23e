--- cdp.document: document values, the `{base64_data, content_type}` objects of
-- the API (ID front and back images, face photo, reports).
-- A document made by `file` is read from disk only when it is sent (the C core
-- streams its base64); `bytes` holds data already in memory. Neither ever
-- shows its bytes in tostring, errors or renders.
local core = require "cdp.core"

local document = {}

local Document = {}
Document.__index = Document

--- Content types the CDP takes for documents.
document.content_types = {
  ["image/jpeg"] = true, ["image/png"] = true, ["application/pdf"] = true,
}

--- Content type from magic bytes, or nil.
function document.sniff(head)
  if head:sub(1, 3) == "\255\216\255" then return "image/jpeg" end
  if head:sub(1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if head:sub(1, 5) == "%PDF-" then return "application/pdf" end
  return nil
end

local function check_content_type(ct, level)
  if ct ~= nil and type(ct) ~= "string" then
    error("content_type must be a string", level + 1)
  end
end

--- A document read from `path` when sent. The content type is sniffed from
-- the file's first bytes when not given. Problems (missing file, unknown type)
-- are kept and reported by `doc:check()`, by validation and by the client
-- before anything is sent.
function document.file(path, content_type)
  if type(path) ~= "string" or path == "" then
    error("cdp.file: path must be a non-empty string", 2)
  end
  check_content_type(content_type, 2)
  return setmetatable({ kind = "file", path = path, content_type = content_type }, Document)
end

--- A document from bytes in memory.
function document.bytes(data, content_type)
  if type(data) ~= "string" then error("cdp.bytes: data must be a string", 2) end
  check_content_type(content_type, 2)
  local self = setmetatable({ kind = "bytes", data = data, content_type = content_type }, Document)
  self.content_type = content_type or document.sniff(data:sub(1, 8))
  return self
end

function document.is(v)
  return getmetatable(v) == Document
end

--- Check the document can be sent: readable, non-empty, with a known type.
-- Returns true, or nil and a message without the document's bytes.
function Document:check()
  if self.kind == "file" then
    -- Not io.open: a FIFO would block it; only regular files are documents.
    local head, err = core.file_head(self.path, 8)
    if not head then return nil, "cannot read " .. tostring(err) end
    if head == "" then return nil, "file is empty: " .. self.path end
    if not self.content_type then
      self.content_type = document.sniff(head)
      if not self.content_type then
        return nil, "unknown content type of " .. self.path .. " (not JPEG, PNG or PDF); give one"
      end
    end
  else
    if #self.data == 0 then return nil, "document is empty" end
    if not self.content_type then return nil, "unknown content type (not JPEG, PNG or PDF); give one" end
  end
  if not document.content_types[self.content_type] then
    return nil, "content type " .. self.content_type
      .. " is not one the CDP takes (image/jpeg, image/png, application/pdf)"
  end
  return true
end

--- Size in bytes and SHA-256 (hex) of the document's bytes, or nil, message.
function Document:digest()
  if self.kind == "file" then
    return core.sha256_file(self.path)
  end
  return core.sha256(self.data), #self.data
end

function Document:__tostring()
  if self.kind == "file" then
    return "cdp.file(" .. self.path .. ", " .. tostring(self.content_type) .. ")"
  end
  return "cdp.bytes(" .. #self.data .. " bytes, " .. tostring(self.content_type) .. ")"
end

return document
