--- Documented triggers: ID numbers 7840000000XXXXX (15 digits, so they pass
-- as Emirates ID numbers too) make the sandbox answer with error code XXXXX
-- where the API document lists that code for the call. README lists them.
local triggers = {}

triggers.PREFIX = "7840000000"

triggers.LOOKUP = { [40001] = true, [45003] = true, [45006] = true, [45013] = true, [45051] = true }
triggers.ONBOARDING = { [40001] = true, [45013] = true, [45051] = true }
-- get by ECRN: this ECRN answers "Customer not Subscribed".
triggers.NOT_SUBSCRIBED_ECRN = "7840000000045003"

--- The code an ID number triggers for a call (`set` is LOOKUP or ONBOARDING), or nil.
function triggers.code(id_number, set)
  if type(id_number) ~= "string" then return nil end
  local code = tonumber(id_number:match("^" .. triggers.PREFIX .. "(%d%d%d%d%d)$"))
  if code and set[code] then return code end
  return nil
end

return triggers
