--- cdp.journal: the batch journal that loses nothing.
-- An append-only JSON Lines file. Before a record is sent, a `start` line is
-- written and synced; when its outcome is definitive, an `end` line. A rerun
-- reads the journal back:
--   * a record with an `end` line is done (created, updated, or refused for good),
--     but for one refused with nothing sent (`nothing_sent`: a document file
--     missing when it was to be sent), which is where it was before that
--     attempt: new, or unknown if an earlier one was;
--   * a record with a `start` line and no `end` (the process died while it was
--     in flight) or with an `end` of outcome "unknown" must be looked up
--     before anything is re-sent — it may have been created.
-- A torn last line (the process killed mid-write) is ignored: its record then
-- has a `start` without an `end`, which is the safe reading.
local cjson = require "cjson.safe"
local core_loaded, core = pcall(require, "cdp.core")
-- The usual flat entry written by the C core (exact whole numbers, and a
-- sixth of lua-cjson's cost: it formats each number through printf);
-- anything else by lua-cjson.
local json_line = core_loaded and core.json_line or function() return nil end

local journal = {}

local Journal = {}
Journal.__index = Journal

--- Outcome states of a record, as `journal:state(key)` returns them.
journal.DONE, journal.UNKNOWN, journal.NEW = "done", "unknown", "new"

local function sync_file(file)
  -- A failed flush drops the buffer: the fsync after it would succeed with
  -- those entries lost.
  local flushed, ferr = file:flush()
  if not flushed then return nil, ferr end
  if core_loaded and core.fsync then
    local synced, err = core.fsync(file)
    if not synced then return nil, err end
  end
  return true
end

--- Open (or create) the journal at `path`. Returns a journal, or nil and a message.
function journal.open(path)
  if type(path) ~= "string" then error("journal.open: path must be a string", 2) end
  local self = setmetatable({ path = path, last = {}, before = {}, torn = 0 }, Journal)
  local existing = io.open(path, "rb")
  if existing then
    local line_no = 0
    for line in existing:lines() do
      line_no = line_no + 1
      local entry = cjson.decode(line)
      if type(entry) == "table" and type(entry.key) == "string" then
        self:_note(entry)
      elseif line:find("%S") then
        self.torn = self.torn + 1
      end
    end
    -- A torn line left by a crash has no newline: start ours on a fresh line.
    local size = existing:seek("end")
    if size > 0 then
      existing:seek("set", size - 1)
      self.needs_newline = existing:read(1) ~= "\n"
    end
    existing:close()
  end
  local file, err = io.open(path, "ab")
  if not file then return nil, err end
  self.file = file
  return self
end

--- Append `entry`; synced to disk before returning unless `defer`, in which
-- case the caller must call journal:sync() before acting on it.
function Journal:write(entry, defer)
  local line = json_line(entry)
  if not line then
    local err
    line, err = cjson.encode(entry)
    if not line then return nil, err end
  end
  local ok, werr = self.file:write(self.needs_newline and "\n" or "", line, "\n")
  self.needs_newline = false
  if not ok then return nil, werr end
  self:_note(entry)
  self.dirty = true
  if defer then return true end
  return self:sync()
end

--- Sync what was written with `defer` (one fsync for many entries).
function Journal:sync()
  if not self.dirty then return true end
  local synced, err = sync_file(self.file)
  if not synced then return nil, err end
  self.dirty = false
  return true
end

--- For a sync of one's own (in another thread, see batch:fsync): the file
-- to flush and sync when something was written since the last sync, else
-- nil. What was written before counts as synced once that sync succeeds.
function Journal:begin_sync()
  if not self.dirty then return nil end
  self.dirty = false
  return self.file
end

-- `entry` is now the last of its key. A start keeps the state the record
-- was in: an attempt that then sent nothing leaves it there.
function Journal:_note(entry)
  if entry.event == "start" then self.before[entry.key] = self:state(entry.key) end
  self.last[entry.key] = entry
end

--- The state of record `key`: "new", "done" or "unknown".
function Journal:state(key)
  local entry = self.last[key]
  if not entry then return journal.NEW end
  if entry.event == "end" and entry.nothing_sent then return self.before[key] or journal.NEW end
  if entry.event == "end" and entry.outcome ~= "unknown" then return journal.DONE end
  return journal.UNKNOWN
end

--- The last entry written for `key`, or nil.
function Journal:entry(key)
  return self.last[key]
end

--- Record that `key` is about to be sent. `info` may carry the record's
-- number and first ID (id_type, id_number) for the lookup of a rerun.
-- `defer`: see Journal:write (nothing may be sent before the sync).
function Journal:start(key, info, defer)
  local entry = { event = "start", key = key, time = os.time() }
  for k, v in pairs(info or {}) do entry[k] = v end
  return self:write(entry, defer)
end

--- Record the outcome of `key`: `result` has `outcome` ("created", "updated",
-- "reconciled", "failed" or "unknown") and whatever the report shows.
-- `defer`: see Journal:write (the outcome counts only after the sync).
function Journal:finish(key, result, defer)
  local entry = { event = "end", key = key, time = os.time() }
  for k, v in pairs(result) do entry[k] = v end
  assert(entry.outcome, "journal:finish: outcome required")
  return self:write(entry, defer)
end

--- Every key with its last entry, in no particular order.
function Journal:entries()
  return pairs(self.last)
end

function Journal:close()
  if self.file then
    self.file:close()
    self.file = nil
  end
end

return journal
