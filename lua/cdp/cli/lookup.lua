--- cdp-onboard lookup --id-type T --id-number N: find a customer by ID.
local common = require "cdp.cli.common"

local lookup = {}

function lookup.setup(parser)
  local cmd = parser:command("lookup", "Look a customer up by ID type and number; prints the CDP's data as JSON.")
  cmd:option("--id-type", "ID type code (4 Emirates ID, 2 passport, …)."):args(1):count(1):argname("TYPE")
  cmd:option("--id-number", "ID number."):args(1):count(1):argname("NUMBER")
  common.add_client_options(cmd)
end

function lookup.run(args)
  local client, cerr = common.client(args)
  if not client then return common.usage_error(cerr) end
  local data, err = client:lookup(args.id_type, args.id_number)
  if not data then return common.fail(err) end
  common.print_json(data)
  return common.EXIT.ok
end

return lookup
