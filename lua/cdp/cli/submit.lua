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
local errors = require "cdp.errors"
local journal = require "cdp.journal"
local report = require "cdp.report"
local progress = require "cdp.cli.progress"
local records = require "cdp.records"
local run = require "cdp.cli.records"

local submit = {}

function submit.setup(parser)
  local cmd = parser:command("submit", "Onboard every valid record; resumable through a journal. "
    .. "Exit 0 all done, 1 some records failed, 2 usage or configuration error (nothing sent), "
    .. "3 an auth or transport error stopped the run, 130 interrupted.")
  run.add_arguments(cmd)
  cmd:option("--journal", "Journal file (JSON Lines). Default: INPUT.journal.jsonl next to the input.")
    :argname("FILE")
  cmd:option("--report", "Report file, one row per record: .csv or .jsonl.")
    :argname("FILE")
  cmd:option("--parallel", "Records in flight at once (1 to 64), over one token and kept-alive connections.", "1")
    :argname("N"):convert(tonumber)
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
  -- Refused before anything was sent (an image missing): a rerun sends it.
  entry.nothing_sent = err.nothing_sent or nil
  if err.outcome_unknown or (err.retryable and err.kind ~= "validation") then
    entry.outcome = "unknown"
  else
    entry.outcome = "failed"
  end
  return entry
end

-- How long an outcome may wait, written but not synced, before a sync:
-- syncs are batched, but a record that ended is counted (and shown) soon.
local SETTLE_WITHIN = 0.05

-- The report's message for a record started in the journal, never sent.
local NOT_SENT = "not sent: the run stopped first; a rerun looks it up, then sends it"

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
    client:_sleep(0.2 * 2 ^ (sends - 1) * (0.5 + core.jitter() / 2))
  end
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

local function start_info(number, customer)
  local id_type, id_number = customer:first_id()
  return { number = number, id_type = id_type, id_number = id_number }
end

local function journal_error(err)
  return errors.new{ kind = "transport", message = "journal: " .. tostring(err) }
end

-- One record that needs the CDP, run as a batch task (`client` is the task's
-- view of the client). `started`: its start is already in the journal (synced).
-- Returns number, key and its outcome entry (the caller journals it), or
-- number, key, nil and the error that stops the run (the record then stays
-- unknown in the journal).
local function record_task(client, j, number, key, customer, started)
  if not started then
    -- Unknown in the journal: look it up before anything is sent again.
    local settled, lerr = settle_unknown(client, customer)
    if lerr then return number, key, nil, lerr end
    if settled then return number, key, settled end
    local ok, werr = j:start(key, start_info(number, customer))
    if not ok then return number, key, nil, journal_error(werr) end
  end
  local data, err = onboard(client, customer)
  if not data and STOPPING[err.kind] and not err.outcome_unknown then
    return number, key, nil, err  -- nothing definitive happened
  end
  return number, key, outcome_of(data, err)
end

-- The records in the input, for the progress bar; nil when it cannot tell.
local function count_records(path)
  local each = records.open(path)
  if not each then return nil end
  local n = 0
  for _ in each do n = n + 1 end
  return n
end

function submit.run(args)
  -- Each image is opened once, to be sent: its type is found then, and a
  -- missing one fails its record with nothing of it sent. A dry run checks
  -- them as `check` does.
  local each, err = run.open(args, { open_files_when_sent = not args.dry_run })
  if not each then return common.usage_error(err) end
  if args.dry_run then return dry_run(each) end
  local parallel = args.parallel
  if not parallel or parallel < 1 or parallel > 64 or parallel ~= math.floor(parallel) then
    return common.usage_error("--parallel must be a whole number from 1 to 64")
  end

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
  local shown = progress.new(io.stdout, core.isatty(io.stdout) and count_records(args.input) or nil)
  -- As many more records queued, ready: one goes out the moment another
  -- ends, before any of the bookkeeping here.
  local b = client:batch(parallel, { queue = parallel })
  local rows, seen = {}, {}
  local stop_error, interrupted, exhausted

  local function settled(number, key, entry, skipped)
    entry.number, entry.key = number, key
    rows[#rows + 1] = entry
    shown:record(number, key, entry, skipped)
  end

  -- Read records until `want` are waiting to go out or the input ends;
  -- records that need no call (invalid, repeated, done in an earlier run)
  -- settle at once. Returns the records to start; the starts of new ones are
  -- written, not yet synced.
  local function next_records(want)
    local starting = {}
    while #starting < want and not exhausted do
      local number, item = each()
      if not number then exhausted = true break end
      local key = item.key
      if seen[key] then
        settled(number, key, { outcome = "failed", error_kind = "validation",
          message = ("key %s repeats record %d"):format(key, seen[key]) })
      else
        seen[key] = number
        local state = not item.err and j:state(key)
        if item.err then
          local entry = outcome_of(nil, item.err)
          entry.outcome = "failed"
          settled(number, key, entry)
        elseif state == journal.DONE then
          settled(number, key, j:entry(key), true)
        else
          local new = state == journal.NEW
          if new then
            local ok, werr = j:start(key, start_info(number, item.customer), true)
            if not ok then
              stop_error = journal_error(werr)
              settled(number, key, { outcome = "unknown", message = "not sent: " .. tostring(stop_error) })
              break
            end
          end
          starting[#starting + 1] = { number, key, item.customer, new }
          -- The first record to send has its token asked for (once a batch)
          -- in a thread of the C core while the next ones are read; a run
          -- that sends nothing asks for none.
          b:prefetch_token()
        end
      end
    end
    return starting
  end

  -- The outcomes of ended tasks, written, not yet synced.
  local function write_outcomes(ended)
    local done = {}
    for _, e in ipairs(ended) do
      local key, entry, stop = e[2], e[3], e[4]
      if entry then
        local ok, werr = j:finish(key, entry, true)
        if ok then done[#done + 1] = e else stop_error = stop_error or journal_error(werr) end
      else
        -- Nothing definitive happened: it stays started in the journal, and
        -- the report says so (a rerun looks it up first).
        stop_error = stop_error or stop
        local row = outcome_of(nil, stop)
        row.outcome = "unknown"
        settled(e[1], key, row)
      end
    end
    return done
  end

  -- Records go out as soon as a slot frees, from a queue of records read
  -- ahead, validated and started in the journal. A record leaves the queue
  -- only once its start is synced to disk; an outcome counts only once its
  -- end is. Syncs are few (one fsync for many starts and outcomes): when the
  -- synced part of the queue could no longer refill every slot, when many
  -- outcomes wait or one has waited SETTLE_WITHIN, and when nothing is in
  -- flight. Reading ahead runs while the transfers travel, and so does each
  -- fsync, in a thread of its own.
  -- Ctrl-C or a stopping error: send nothing more (the batch's queued
  -- records are dropped), settle what is in flight. Records read ahead or
  -- queued stay started in the journal without being sent: a rerun looks
  -- them up, then sends them; the report says "unknown" for them.
  local ahead = 2 * parallel + 8
  local ready, prepared, done = {}, {}, {}  -- synced starts; unsynced starts; unsynced outcomes
  local done_since  -- when the oldest unsynced outcome ended
  -- Ctrl-C or a stop: the queued records are dropped unsent.
  local function drop_queued()
    for _, task in ipairs(b:drop_queued()) do  -- record_task's arguments
      settled(task[2], task[3], { outcome = "unknown", message = NOT_SENT })
    end
  end
  local function send_ready()
    local sent = 0
    while b:free() > 0 and #ready > 0 and not (interrupted or stop_error) do
      local r = table.remove(ready, 1)
      b:spawn(record_task, j, r[1], r[2], r[3], r[4])
      sent = sent + 1
    end
    if sent > 0 then b:send() end
  end
  -- The fsync runs in a thread of the batch while the transfers go on;
  -- `syncing` and `syncing_done` are the starts and outcomes it covers (nil
  -- when none runs). Once one fails, nothing written after counts either.
  local syncing, syncing_done, journal_failed
  local function sync_failed(why)
    journal_failed = journal_failed or why
    stop_error = stop_error or journal_error(why)
    -- Nothing unsynced counts or goes out; a rerun looks those records up.
    -- The report still has a row for each.
    for _, e in ipairs(syncing_done) do
      settled(e[1], e[2], { outcome = "unknown", message = "outcome not synced: " .. tostring(stop_error) })
    end
    for _, r in ipairs(syncing) do
      settled(r[1], r[2], { outcome = "unknown", message = "not sent: " .. tostring(stop_error) })
    end
    syncing, syncing_done = nil, nil
  end
  -- The sync's result (b:fsync_wait's).
  local function sync_ended(ok, why)
    if not ok then return sync_failed(why) end
    for _, r in ipairs(syncing) do ready[#ready + 1] = r end
    for _, e in ipairs(syncing_done) do settled(e[1], e[2], e[3]) end
    syncing, syncing_done = nil, nil
    shown:flush()
  end
  local function start_sync()
    syncing, syncing_done = prepared, done
    prepared, done, done_since = {}, {}, nil
    if journal_failed then return sync_failed(journal_failed) end
    local file = j:begin_sync()
    if not file then return sync_ended(true) end  -- nothing written since: nothing to wait for
    local ok, why = b:fsync(file)
    if not ok then sync_failed(why) end
  end
  while true do
    if core.interrupted() then interrupted = true end
    local halted = interrupted or stop_error
    if halted then drop_queued() end
    if syncing and b:fsync_state() == "ended" then sync_ended(b:fsync_wait()) end
    send_ready()
    if not halted then
      local read = #ready + #prepared + (syncing and #syncing or 0)
      for _, r in ipairs(next_records(ahead - read)) do prepared[#prepared + 1] = r end
      halted = stop_error
    end
    local due = done_since and done_since + SETTLE_WITHIN
    local unsynced = #prepared > 0 or #done > 0
    if not syncing and ((#ready < parallel and #prepared > 0) or #done >= ahead or (due and core.monotonic() >= due)
      or (unsynced and (b:running() == 0 or halted))) then
      start_sync()
    end
    if syncing and b:running() == 0 then
      -- Nothing in flight to wait on: wait for the sync itself.
      sync_ended(b:fsync_wait())
      send_ready()
    end
    if b:running() == 0 and not syncing and #prepared == 0 and #done == 0
      and (interrupted or stop_error or exhausted and #ready == 0) then
      break
    end
    local ended = b:wait(due and math.max(0, due - core.monotonic()) or 0.25)
    if core.interrupted() then interrupted = true end
    if syncing and b:fsync_state() == "ended" then sync_ended(b:fsync_wait()) end
    -- A task that ended with a stopping error stops the sending before the
    -- freed slots are refilled (a queued record may have taken its place
    -- already, inside wait: it is settled like the others in flight).
    for _, e in ipairs(ended) do
      if not e[3] then stop_error = stop_error or e[4] end
    end
    if interrupted or stop_error then drop_queued() end
    send_ready()  -- refill the queue first: its requests are built before any bookkeeping
    -- Whatever else has ended by now comes along.
    for _, e in ipairs(#ended > 0 and b:wait(0) or {}) do ended[#ended + 1] = e end
    for _, e in ipairs(write_outcomes(ended)) do done[#done + 1] = e end
    if #done > 0 and not done_since then done_since = core.monotonic() end
  end
  b:close()
  -- Records read ahead but never sent (Ctrl-C or a stop came first): started
  -- in the journal, so a rerun looks each up, then sends it. (`prepared` and
  -- `done` are empty here: the loop ends only after their sync.)
  for _, r in ipairs(ready) do
    settled(r[1], r[2], { outcome = "unknown", message = NOT_SENT })
  end
  shown:finish()
  j:close()

  table.sort(rows, function(x, y) return x.number < y.number end)
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
