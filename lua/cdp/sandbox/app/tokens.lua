--- The Keycloak-style token endpoint and the bearer check of the API calls.
-- Tokens are opaque and live in a shared dict: "a:<token>" (access) and
-- "r:<token>" (refresh) map to "<expires_at>|<state>"; entries outlive their
-- expiry by an hour so that an expired token is told apart from an unknown one.
-- Refresh tokens are single use: "u:<token>" is added atomically on use.
local respond = require "cdp.sandbox.app.respond"
local counters = require "cdp.sandbox.app.counters"
local settings = require "cdp.sandbox.app.settings"

local tokens = {}

local dict = ngx.shared.cdp_tokens
local GRACE = 3600

local function random_token(prefix)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(24)
  f:close()
  return prefix .. ngx.encode_base64(bytes):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" })
end

local function issue(kind, ttl)
  local token = random_token(kind == "a" and "sbx-at-" or "sbx-rt-")
  dict:set(kind .. ":" .. token, (ngx.now() + ttl) .. "|ok", ttl + GRACE)
  return token
end

--- State of a token: "ok", "unknown", "expired" or "revoked".
local function state_of(kind, token)
  local value = dict:get(kind .. ":" .. token)
  if not value then return "unknown" end
  local expires, state = value:match("^([^|]+)|(.+)$")
  if state ~= "ok" then return state end
  if tonumber(expires) <= ngx.now() then return "expired" end
  return "ok"
end

--- Check the request's bearer token. Returns nil or a 401 response.
function tokens.check(path)
  local header = ngx.var.http_authorization
  local token = header and header:match("^[Bb]earer%s+(%S+)%s*$")
  local reason = token and state_of("a", token) or "missing"
  if reason == "ok" then return nil end
  counters.incr("unauthorized", "total")
  counters.incr("unauthorized", reason)
  return respond.gateway(401, path)
end

local function refuse(grant, status, err, description)
  counters.incr("tokens", "refused", grant)
  return respond.keycloak(status, err, description)
end

local function token_response(scope)
  local s = settings
  counters.incr("tokens", "granted", scope.grant)
  return respond.json(200, {
    token_type = "bearer",
    access_token = issue("a", s.token_ttl),
    expires_in = s.token_ttl,
    refresh_expires_in = s.refresh_ttl,
    refresh_token = issue("r", s.refresh_ttl),
    scope = s.credentials.scope,
    ["not-before-policy"] = 0,
    session_state = random_token(""):sub(1, 32),
  }, { ["Cache-Control"] = "no-store", Pragma = "no-cache" })
end

local function has_scope(requested, scope)
  for word in requested:gmatch("%S+") do
    if word ~= scope and word ~= "openid" then return false end
  end
  return true
end

--- POST /auth/realms/cdp/protocol/openid-connect/token
function tokens.grant(ctx)
  local content_type = ngx.var.content_type or ""
  if not content_type:lower():find("application/x-www-form-urlencoded", 1, true) then
    return refuse("other", 400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
  end
  local args = ngx.decode_args(ctx.body, 100)
  for name, value in pairs(args) do
    if type(value) == "table" then
      return refuse(type(args.grant_type) == "string" and args.grant_type or "other",
        400, "invalid_request", "duplicated parameter: " .. name)
    end
  end
  local grant = args.grant_type
  if not grant or grant == true or grant == "" then
    return refuse("other", 400, "invalid_request", "Missing form parameter: grant_type")
  end
  if grant ~= "password" and grant ~= "refresh_token" then
    return refuse("other", 400, "unsupported_grant_type", "Unsupported grant_type")
  end
  local creds = settings.credentials
  if args.client_id ~= creds.client_id or args.client_secret ~= creds.client_secret then
    return refuse(grant, 401, "unauthorized_client", "Invalid client or Invalid client credentials")
  end
  if grant == "password" then
    -- scope is optional: production partner clients omit it (NOTES.md).
    if type(args.scope) == "string" and args.scope ~= "" and not has_scope(args.scope, creds.scope) then
      return refuse(grant, 400, "invalid_scope", "Invalid scopes: " .. args.scope)
    end
    if args.username ~= creds.username or args.password ~= creds.password then
      return refuse(grant, 401, "invalid_grant", "Invalid user credentials")
    end
    return token_response({ grant = grant })
  end
  local refresh = args.refresh_token
  if type(refresh) ~= "string" or refresh == "" then
    return refuse(grant, 400, "invalid_request", "Missing parameter: refresh_token")
  end
  local state = state_of("r", refresh)
  if state == "unknown" then
    return refuse(grant, 400, "invalid_grant", "Invalid refresh token")
  elseif state == "expired" then
    return refuse(grant, 400, "invalid_grant", "Token is not active")
  elseif state == "revoked" then
    return refuse(grant, 400, "invalid_grant", "Session not active")
  end
  if not dict:add("u:" .. refresh, true, settings.refresh_ttl + GRACE) then
    return refuse(grant, 400, "invalid_grant", "Maximum allowed refresh token reuse exceeded")
  end
  return token_response({ grant = grant })
end

local KINDS = { access = { "a" }, refresh = { "r" }, all = { "a", "r" } }

--- Expire ("expired") or revoke ("revoked") every token of a kind:
-- which = "access" | "refresh" | "all". Returns how many were changed.
function tokens.change(which, new_state)
  local kinds = KINDS[which]
  if not kinds then return nil, "which must be access, refresh or all" end
  local n = 0
  for _, key in ipairs(dict:get_keys(0)) do
    local kind = key:sub(1, 1)
    for _, k in ipairs(kinds) do
      if kind == k and key:sub(2, 2) == ":" then
        local value = dict:get(key)
        if value then
          local expires = value:match("^([^|]+)|")
          if new_state == "expired" then
            dict:set(key, (ngx.now() - 1) .. "|ok", GRACE)
          else
            dict:set(key, expires .. "|revoked", GRACE)
          end
          n = n + 1
        end
      end
    end
  end
  return n
end

function tokens.reset()
  dict:flush_all()
  dict:flush_expired()
end

return tokens
