--- cdp-onboard token: do the credentials work, and how long does a token live?
-- The token itself is never printed.
local common = require "cdp.cli.common"

local token = {}

function token.setup(parser)
  local cmd = parser:command("token", "Check the credentials: fetch a token and say when it expires "
    .. "(the token is never printed).")
  common.add_client_options(cmd)
end

function token.run(args)
  local client, cerr = common.client(args)
  if not client then return common.usage_error(cerr) end
  local status, err = client:token_status()
  if not status then return common.fail(err) end
  io.stdout:write(("credentials work: a token for %s, expires in %d s (lifetime %d s)\n")
    :format(client.base_url, math.floor(status.expires_in), math.floor(status.lifetime)))
  return common.EXIT.ok
end

return token
