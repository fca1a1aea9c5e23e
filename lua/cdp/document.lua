--- cdp.document: document values, the `{base64_data, content_type}` objects of
-- the API (ID front and back images, face photo, reports).
-- A document made by `file` is read from disk only when it is sent (the C core
-- streams its base64); `bytes` holds data already in memory. Neither ever
-- shows its bytes in tostring, errors or renders.
local core = require "cdp.core"

local document = {}

local Document = {}
Document.__index = Document
-- For the C writer of the body (core.json_parts), which writes a document's
-- pieces itself when it knows the value for one.
document._metatable = Document

--- Content types the CDP takes for documents.
document.content_types = {
  ["image/jpeg"] = true, ["image/png"] = true, ["application/pdf"] = true,
}

--- Content type from magic bytes (JPEG, PNG, PDF), or nil. The C core's
-- table: it tells a file's type the same way when it opens it to send.
document.sniff = core.sniff

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

--- A document read from `path` when sent, whose file nothing opens before:
-- the C core reads its type from its first bytes as it opens it to send, and
-- refuses a missing, empty or unknown file then, with nothing of the request
-- sent. For `cdp-onboard submit`, where validation opening each file first
-- would open it twice (cdp.mapping's m.file, with the mapping's
-- `_open_files_when_sent`). Its check looks at nothing on disk.
function document._opened_when_sent(path)
  local doc = document.file(path)
  doc.opened_when_sent = true
  return doc
end

--- A document from bytes in memory.
function document.bytes(data, content_type)
  if type(data) ~= "string" then error("cdp.bytes: data must be a string", 2) end
  check_content_type(content_type, 2)
  local self = setmetatable({ kind = "bytes", data = data, content_type = content_type }, Document)
  self.content_type = content_type or document.sniff(data)
  return self
end

function document.is(v)
  return getmetatable(v) == Document
end

--- Check the document can be sent: readable, non-empty, with a known type.
-- Returns true, or nil and a message without the document's bytes. One
-- opened when sent is not read here: only a type given to it is checked.
function Document:check()
  if self.kind == "file" and not self.opened_when_sent then
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
  elseif self.kind == "bytes" then
    if #self.data == 0 then return nil, "document is empty" end
    if not self.content_type then return nil, "unknown content type (not JPEG, PNG or PDF); give one" end
  end
  if self.content_type ~= nil and not document.content_types[self.content_type] then
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
