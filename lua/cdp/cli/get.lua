--- cdp-onboard get ECRN: a customer by its ECRN.
local common = require "cdp.cli.common"

local get = {}

function get.setup(parser)
  local cmd = parser:command("get", "Get a customer by ECRN; prints the CDP's data as JSON.")
  cmd:argument("ecrn", "The customer's ECRN.")
  common.add_client_options(cmd)
end

function get.run(args)
  local client, cerr = common.client(args)
  if not client then return common.usage_error(cerr) end
  local data, err = client:get(args.ecrn)
  if not data then return common.fail(err) end
  common.print_json(data)
  return common.EXIT.ok
end

return get
