--- The progress of `cdp-onboard submit`: on a terminal one line redrawn in
-- place (bar, done/total, rate, ETA, failures); otherwise a plain line per
-- record, for logs and pipes.
local core = require "cdp.core"

local progress = {}

local Progress = {}
Progress.__index = Progress

local BAR = 24

--- `total`: the records in the input when known (nil: no bar, no ETA).
function progress.new(out, total)
  return setmetatable({ out = out, tty = core.isatty(out), total = total, done = 0, failed = 0,
    skipped = 0, start = core.monotonic(), drawn = 0 }, Progress)
end

local function clock(seconds)
  seconds = math.floor(seconds + 0.5)
  local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
  return ("%d:%02d"):format(m, s)
end

--- The status line as drawn on a terminal.
function Progress:line(now)
  local elapsed = math.max(now - self.start, 1e-3)
  local sent = self.done - self.skipped
  local rate = sent / elapsed
  local parts = {}
  if self.total and self.total > 0 then
    local filled = math.floor(BAR * math.min(self.done / self.total, 1))
    parts[#parts + 1] = ("[%s%s] %d/%d"):format(("#"):rep(filled), ("."):rep(BAR - filled),
      self.done, self.total)
  else
    parts[#parts + 1] = ("%d done"):format(self.done)
  end
  parts[#parts + 1] = ("%.1f/s"):format(rate)
  if self.total and rate > 0 and self.done < self.total then
    parts[#parts + 1] = "ETA " .. clock((self.total - self.done) / rate)
  elseif self.total and self.done >= self.total then
    parts[#parts + 1] = "in " .. clock(elapsed)
  end
  parts[#parts + 1] = ("%d failed"):format(self.failed)
  if self.skipped > 0 then parts[#parts + 1] = ("%d already done"):format(self.skipped) end
  return table.concat(parts, "  ")
end

--- One record has its outcome (an entry of the journal or report).
function Progress:record(number, key, entry, skipped)
  self.done = self.done + 1
  if skipped then self.skipped = self.skipped + 1 end
  if entry.outcome ~= "created" and entry.outcome ~= "reconciled" then self.failed = self.failed + 1 end
  if self.tty then
    -- Redraw at most ten times a second, and at the end.
    local now = core.monotonic()
    if now - self.drawn < 0.1 and self.done ~= self.total then return end
    self.drawn = now
    self.out:write("\r", self:line(now), "\27[K")
    self.out:flush()
  else
    -- Flushed by `flush`, once per round of outcomes, not once per line;
    -- written in pieces, not formatted: one line a record.
    local ecrn, message = entry.ecrn, entry.message
    self.out:write(("%d"):format(number), " ", tostring(key), " ", tostring(entry.outcome),
      ecrn and " " or "", ecrn and tostring(ecrn) or "",
      message and ": " or "", message and tostring(message) or "", "\n")
  end
end

--- Put out the lines written so far (a log follows the run round by round).
function Progress:flush()
  self.out:flush()
end

function Progress:finish()
  if self.tty then
    self.out:write("\r", self:line(core.monotonic()), "\27[K\n")
    self.out:flush()
  end
end

return progress
