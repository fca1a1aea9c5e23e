--- cdp-onboard submit MAPPING INPUT: onboard every valid record, with a
-- journal that loses nothing.
--
-- Each record's outcome is written to the journal and synced to disk before
-- it counts. A rerun with the same journal skips what is done; a record
-- whose outcome is unknown (in flight when the process died, a 502 or a
-- timeout after sending) is looked up by its first ID before anything is
-- sent again, so no customer is ever created twice.
local core = require "cdp.core"
local common = require "cdp.cli.common"
local journal = require "cdp.journal"
local report = require "cdp.report"
local run = require "cdp.cli.records"

local submit = {}

function submit.setup(parser)
  local cmd = parser:command("submit", "Onboard every valid record; resumable through a journal. "
    .. "Exit 0 all done, 1 some records failed, 3 an auth or transport error stopped the run, 130 interrupted.")
  run.add_arguments(cmd)
  cmd:option("--journal", "Journal file (JSON Lines). Default: INPUT.journal.jsonl next to the input.")
    :argname("FILE")
  cmd:option("--report", "Report file, one row per record: .csv or .jsonl.")
    :argname("FILE")
  cmd:flag("--dry-run", "Map and validate, and say what would be sent; send nothing.")
  common.add_client_options(cmd)
end

local function error_fields(err)
  if not err then return {} end
  return { error_kind = err.kind, error_code = err.code, error_name = err.name,
    message = err.message, request_id = err.request_id }
end

-- The journal's `end` entry for a CDP answer or error.
local function outcome_of(data, err)
  if data then
    return { outcome = data.reconciled and "reconciled" or "created", ecrn = data.ecrn,
      customer_status = data.customer_status, aml_scan_status = data.aml_scan_status }
  end
  local entry = error_fields(err)
  entry.ecrn = err.ecrn
  if err.outcome_unknown or (err.retryable and err.kind ~= "validation") then
    entry.outcome = "unknown"
  else
    entry.outcome = "failed"
  end
  return entry
end

-- Errors that say nothing about the record but stop the whole run.
local STOPPING = { auth = true, transport = true, tls = true, timeout = true }

-- Sends of one record when the client proved the earlier one created nothing
-- (it looked the customer up after the failure and found none).
local MAX_SENDS = 4

local function onboard(client, customer)
  local sends = 0
  while true do
    sends = sends + 1
    local data, err = client:onboard(customer)
    if data or not (err.retryable and err.reconciled and not err.outcome_unknown) or sends >= MAX_SENDS then
      return data, err
    end
    core.sleep(0.2 * 2 ^ (sends - 1) * (0.5 + core.jitter() / 2))
  end
end

local Progress = {}
Progress.__index = Progress

local function new_progress(out)
  return setmetatable({ out = out, tty = core.isatty(out), done = 0, failed = 0, skipped = 0,
    start = os.time() }, Progress)
end

function Progress:record(number, key, entry)
  if entry.outcome == "failed" then self.failed = self.failed + 1 end
  self.done = self.done + 1
  if self.tty then
    local elapsed = math.max(1, os.time() - self.start)
    self.out:write(("\r%d done (%d failed, %d already done), %.1f/s   ")
      :format(self.done, self.failed, self.skipped, self.done / elapsed))
  else
    self.out:write(("%d %s %s%s%s\n"):format(number, key, entry.outcome,
      entry.ecrn and (" " .. entry.ecrn) or "", entry.message and (": " .. entry.message) or ""))
  end
  self.out:flush()
end

function Progress:finish()
  if self.tty then self.out:write("\n") end
end

local function dry_run(each)
  local failed = 0
  for number, item in each do
    if item.err then
      failed = failed + 1
      io.stdout:write(("%d %s invalid: %s\n"):format(number, item.key, item.err.message))
    else
      io.stdout:write(("%d %s would be sent\n"):format(number, item.key))
    end
  end
  return failed > 0 and common.EXIT.failed or common.EXIT.ok
end

-- A record of unknown outcome: look it up before anything is sent again.
-- Returns the journal entry, or nil when it is safe to send; or nil, err to stop.
local function settle_unknown(client, customer)
  local id_type, id_number = customer:first_id()
  local data, err = client:lookup(id_type, id_number)
  if data then
    return { outcome = "reconciled", ecrn = data.ecrn, customer_status = data.customer_status,
      aml_scan_status = data.aml_scan_status }
  end
  if err.code == 45001 then return nil end
  if err.kind == "business" then return outcome_of(nil, err) end
  return nil, err
end

function submit.run(args)
  local each, err = run.open(args)
  if not each then return common.usage_error(err) end
  if args.dry_run then return dry_run(each) end

  local client, cerr = common.client(args)
  if not client then return common.usage_error(cerr) end
  local journal_path = args.journal or (args.input .. ".journal.jsonl")
  local j, jerr = journal.open(journal_path)
  if not j then return common.usage_error("journal: " .. tostring(jerr)) end
  local rep
  if args.report then
    local rerr
    rep, rerr = report.open(args.report)
    if not rep then return common.usage_error("report: " .. tostring(rerr)) end
  end

  core.trap_interrupt()
  local progress = new_progress(io.stdout)
  local rows, seen = {}, {}
  local stop_error, interrupted

  for number, item in each do
    if core.interrupted() then interrupted = true break end
    local key = item.key
    local entry
    if seen[key] then
      entry = { outcome = "failed", error_kind = "validation",
        message = ("key %s repeats record %d"):format(key, seen[key]) }
    elseif item.err then
      entry = outcome_of(nil, item.err)
      entry.outcome = "failed"
    elseif j:state(key) == journal.DONE then
      entry = j:entry(key)
      progress.skipped = progress.skipped + 1
    else
      if j:state(key) == journal.UNKNOWN then
        local settled, lerr = settle_unknown(client, item.customer)
        if lerr then stop_error = lerr break end
        if settled then
          assert(j:finish(key, settled))
          entry = settled
        end
      end
      if not entry then
        local id_type, id_number = item.customer:first_id()
        local ok, werr = j:start(key, { number = number, id_type = id_type, id_number = id_number })
        if not ok then stop_error = { kind = "transport", message = "journal: " .. tostring(werr) } break end
        local data, oerr = onboard(client, item.customer)
        if not data and STOPPING[oerr.kind] and not oerr.outcome_unknown then
          stop_error = oerr  -- nothing definitive happened: the record stays unknown in the journal
          break
        end
        entry = outcome_of(data, oerr)
        assert(j:finish(key, entry))
      end
    end
    seen[key] = seen[key] or number
    entry.number, entry.key = number, key
    rows[#rows + 1] = entry
    progress:record(number, key, entry)
  end
  progress:finish()
  j:close()

  local failed = 0
  for _, row in ipairs(rows) do
    if row.outcome ~= "created" and row.outcome ~= "reconciled" then failed = failed + 1 end
    if rep then rep:row(row) end
  end
  if rep then rep:close() end
  io.stdout:write(("%d records: %d onboarded, %d not (journal %s)\n")
    :format(#rows, #rows - failed, failed, journal_path))
  if interrupted then
    io.stderr:write("interrupted: the records in flight were settled; rerun with the same journal to go on\n")
    return common.EXIT.interrupted
  end
  if stop_error then
    io.stderr:write("stopped: ", tostring(stop_error), "\n")
    return common.EXIT.stopped
  end
  return failed > 0 and common.EXIT.failed or common.EXIT.ok
end

return submit
