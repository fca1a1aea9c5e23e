--- cdp.report: the batch report, one row per record, as CSV or JSON Lines
-- (chosen by the file's extension: .csv, .jsonl or .ndjson).
local cjson = require "cjson.safe"

local report = {}

--- Columns, in order.
report.FIELDS = {
  "number", "key", "outcome", "ecrn", "customer_status", "aml_scan_status",
  "error_kind", "error_code", "error_name", "message", "request_id",
}

local function csv_field(v)
  if v == nil then return "" end
  -- lua-cjson decodes every JSON number as a float under Lua 5.4: 45051, not 45051.0
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    v = ("%d"):format(v)
  end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local Report = {}
Report.__index = Report

--- Open `path` for writing. Returns a report, or nil and a message.
function report.open(path)
  if type(path) ~= "string" then error("report.open: path must be a string", 2) end
  local ext = (path:match("%.(%w+)$") or ""):lower()
  local format = (ext == "csv" and "csv") or ((ext == "jsonl" or ext == "ndjson") and "jsonl")
  if not format then return nil, path .. ": unknown report format (use .csv or .jsonl)" end
  local file, err = io.open(path, "wb")
  if not file then return nil, err end
  local self = setmetatable({ file = file, format = format, rows = 0 }, Report)
  if format == "csv" then
    file:write(table.concat(report.FIELDS, ","), "\n")
  end
  return self
end

--- Write one row: a table with any of report.FIELDS.
function Report:row(row)
  if self.format == "csv" then
    local cells = {}
    for i, name in ipairs(report.FIELDS) do cells[i] = csv_field(row[name]) end
    self.file:write(table.concat(cells, ","), "\n")
  else
    local out = {}
    for _, name in ipairs(report.FIELDS) do out[name] = row[name] end
    self.file:write(assert(cjson.encode(out)), "\n")
  end
  self.rows = self.rows + 1
end

function Report:close()
  if self.file then
    self.file:close()
    self.file = nil
  end
end

return report
