--- Start a throwaway sandbox for a spec and drive its admin API.
--
--   local sandbox = require "helpers.sandbox"
--   local sb = sandbox.start{ http = false, token_ttl = 300, refresh_ttl = 600, workers = 1,
--                             callback_url = nil, callback_token = nil,
--                             callback_attempts = 5, callback_backoff = 0.2, callback_ca = nil,
--                             max_body_mb = 128, lifetime = 1800, reuseport = nil }
--   -- a fresh temp dir, a free port, and this process as the watched PID: the
--   -- sandbox stops by itself when the spec run dies (and after 30 minutes); the next
--   -- start removes directories that such runs left behind (sandbox.sweep()).
--   sb.base_url, sb.ca_file (nil with http = true), sb.dir, sb.port, sb.pid (nginx master)
--   sb.env        -- CDP_BASE_URL, CDP_CLIENT_ID, CDP_CLIENT_SECRET, CDP_USERNAME,
--                 -- CDP_PASSWORD, CDP_SCOPE, CDP_CA_FILE
--   sb:client(extra) -- a cdp.client for it (backoff 0.01; extra overrides options)
--   sb:counters() -- decoded JSON of GET /__sandbox/counters (shape below)
--   sb:reset()    -- zero counters and disarm faults; sb:reset{ customers = true, tokens = true }
--                 -- also forgets customers / tokens
--   sb:fault{ path = "/caas-lcm/api/v1/CAAS/onBoarding/customer",
--             kind = "reset"|"delay"|"502"|"truncate"|"invalid_json"|"reset_body"|"big_body",
--             count = 1, delay = 2, size = 2097152,
--             when = "before"|"after", skip = 0 }  -- skip: let that many calls pass first;
--                                          -- path "*" = any API call; the get-by-ECRN
--                                          -- route is "/caas/api/v2/customer/{ecrn}"
--   -- kinds: reset = close without a response (curl 52); truncate = Content-Length
--   -- announced, half the body, clean close (curl 18); reset_body = the same cut by
--   -- a TCP reset (curl 56); invalid_json = a complete 200 whose body is not JSON;
--   -- 502 = nginx's HTML page; delay = answer `delay` seconds late; big_body = the
--   -- answer padded with whitespace to `size` bytes (valid JSON; default 2 MiB,
--   -- twice the SDK's default max_response_bytes)
--   sb:expire_tokens(which)  -- "access" | "refresh" | "all"
--   sb:revoke_tokens(which)
--   sb:customer(ecrn)        -- the stored customer (nil if none), with
--                            -- documents[slot] = { size, sha256, content_type }; slots are
--                            -- "id_details[0].id_front", "additional_docs[1]",
--                            -- "customer_classification.profile_photo", ...
--   sb:close_alert(ecrn, "accept"|"reject")  -- returns the decoded admin answer
--   sb:stop()                -- stops nginx (by its PID) and removes the dir
-- Extras:
--   sb:request{ method, path, token, json|body|form|body_file, headers, chunked, timeout }
--                            -- helpers.http response; `token` adds the bearer header
--   sb:token()               -- a password grant; returns the decoded token response
--   sb:admin(method, path, body_table) -- raw admin call (path below /__sandbox/)
--
-- Counters (GET /__sandbox/counters); absent names are 0:
-- {
--   "connections": 3,            -- TCP connections whose first request was an API call
--   "tls_resumed": 2,            -- of those, the ones that resumed a TLS session
--   "tokens": { "granted": { "password": 1, "refresh_token": 0 },
--               "refused": { "password": 0, "refresh_token": 0, "other": 0 } },
--                                -- "other": no or unsupported grant_type, bad content type
--   "calls": { "/auth/realms/cdp/protocol/openid-connect/token": 1,
--              "/caas/api/v2/customer/validate": 2,
--              "/caas-lcm/api/v1/CAAS/onBoarding/customer": 1,
--              "/caas/api/v2/customer/{ecrn}": 1 },   -- API calls by route, before auth
--   "responses": { "200": 4, "401": 1, "413": 1, "fault": 1 },  -- by HTTP status
--   "unauthorized": { "total": 1, "missing": 1, "unknown": 0, "expired": 0, "revoked": 0 },
--   "customers": { "created": 1, "updated": 0, "duplicates": 0,
--                  "by_id": { "4:784199554586091": { "created": 1, "updated": 2, "duplicates": 1 } } },
--                                -- by_id keys are "<id_type>:<id_number>" of every id_details entry
--   "faults": { "fired": { "/caas-lcm/api/v1/CAAS/onBoarding/customer": 1 } },
--   "callbacks": { "attempts": 2, "delivered": 1, "failed": 0,
--                  "log": [ { "ecrn": "...", "attempt": 1, "status": 500,
--                             "aml_scan_status": "Accepted", "customer_status": "ACTIVE" },
--                           { "ecrn": "...", "attempt": 2, "error": "connect: connection refused" } ] }
-- }
local control = require "cdp.sandbox"
local fs = require "cdp.sandbox.fs"
local http = require "helpers.http"
local cjson = require "cjson"

local sandbox = {}

local Sandbox = {}
Sandbox.__index = Sandbox

local seeded = false

local function random_port()
  if not seeded then
    math.randomseed(os.time() + (fs.self_pid() or 0))
    seeded = true
  end
  return math.random(20000, 32000)  -- below Linux's ephemeral ports, which client sockets use
end

local PREFIX = "/tmp/cdp-sandbox-spec."

--- Remove the directories of spec sandboxes whose spec run died (their
-- nginx stopped by itself, but nobody was left to remove the directory).
function sandbox.sweep()
  local p = io.popen("ls -d " .. PREFIX .. "* 2>/dev/null")
  for dir in p:lines() do
    local settings = fs.read(dir .. "/settings.json")
    local watched = tonumber(settings and settings:match('"watch_pid":(%d+)'))
    if watched and not fs.alive(watched) and not control.status(dir).running then
      fs.run("rm -rf " .. fs.quote(dir))
    end
  end
  p:close()
end

--- Start a sandbox in a fresh temp dir on a free port; raises on failure.
function sandbox.start(opts)
  opts = opts or {}
  sandbox.sweep()
  local dir = fs.capture("mktemp -d " .. PREFIX .. "XXXXXX")
  assert(dir ~= "", "mktemp failed")
  local settings = {
    dir = dir, http = opts.http or false, workers = opts.workers or 1,
    token_ttl = opts.token_ttl or 300, refresh_ttl = opts.refresh_ttl or 600,
    callback_url = opts.callback_url, callback_token = opts.callback_token, callback_ca = opts.callback_ca,
    callback_attempts = opts.callback_attempts or 5, callback_backoff = opts.callback_backoff or 0.2,
    max_body_mb = opts.max_body_mb or 128, reuseport = opts.reuseport,
    watch_pid = fs.self_pid(), lifetime = opts.lifetime or 1800,
  }
  local info, err, why
  for _ = 1, 8 do
    settings.port = opts.port or random_port()
    info, err, why = control.start(settings)
    if info or why ~= "port" or opts.port then break end
  end
  if not info then
    fs.run("rm -rf " .. fs.quote(dir))
    error("sandbox did not start: " .. tostring(err), 2)
  end
  local sb = setmetatable({}, Sandbox)
  sb.dir, sb.port, sb.pid, sb.base_url = dir, info.port, info.pid, info.base_url
  sb.ca_file, sb.env = info.ca_file, info.env
  return sb
end

function Sandbox:request(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.url = self.base_url .. opts.path
  o.cacert = self.ca_file
  if opts.token then
    o.headers = {}
    for k, v in pairs(opts.headers or {}) do o.headers[k] = v end
    o.headers.Authorization = "Bearer " .. opts.token
  end
  return http.request(o)
end

--- A password grant with the sandbox's credentials; the decoded response.
function Sandbox:token()
  local e = self.env
  local res = self:request{ method = "POST", path = "/auth/realms/cdp/protocol/openid-connect/token",
    form = { grant_type = "password", client_id = e.CDP_CLIENT_ID, client_secret = e.CDP_CLIENT_SECRET,
             username = e.CDP_USERNAME, password = e.CDP_PASSWORD, scope = e.CDP_SCOPE } }
  assert(res.status == 200, "token grant failed: " .. res.status .. " " .. res.body)
  return res.json
end

function Sandbox:admin(method, path, body)
  local res = self:request{ method = method, path = "/__sandbox/" .. path,
    body = body and cjson.encode(body) or nil, headers = { ["Content-Type"] = "application/json" } }
  return res.json, res
end

--- A cdp.client for this sandbox (backoff 0.01 s unless `extra` says
-- otherwise; `extra` overrides or adds any option).
function Sandbox:client(extra)
  local e = self.env
  local opts = { base_url = self.base_url, ca_file = self.ca_file, client_id = e.CDP_CLIENT_ID,
                 client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME,
                 password = e.CDP_PASSWORD, scope = e.CDP_SCOPE, backoff = 0.01 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return require("cdp").client(opts)
end

function Sandbox:counters()
  local t, res = self:admin("GET", "counters")
  assert(t, "counters: " .. res.status .. " " .. res.body)
  return t
end

function Sandbox:reset(opts)
  return self:admin("POST", "reset", opts or {})
end

function Sandbox:fault(spec)
  local t, res = self:admin("POST", "faults", spec)
  assert(res.status == 200, "fault: " .. res.body)
  return t
end

function Sandbox:expire_tokens(which)
  return self:admin("POST", "tokens/expire", { which = which or "all" })
end

function Sandbox:revoke_tokens(which)
  return self:admin("POST", "tokens/revoke", { which = which or "all" })
end

function Sandbox:customer(ecrn)
  local t, res = self:admin("GET", "customers/" .. tostring(ecrn))
  if res.status ~= 200 then return nil end
  return t
end

function Sandbox:close_alert(ecrn, decision)
  return self:admin("POST", "customers/" .. tostring(ecrn) .. "/alert", { decision = decision })
end

function Sandbox:stop()
  control.stop(self.dir)
  fs.run("rm -rf " .. fs.quote(self.dir))
end

--- Base64 of a file's bytes (openssl, not the SDK's encoder).
function sandbox.base64_file(path)
  local out = fs.capture("openssl base64 -A -in " .. fs.quote(path))
  assert(out ~= "", "cannot read " .. path)
  return out
end

--- SHA-256 (hex) of a file's bytes.
function sandbox.sha256_file(path)
  return (fs.capture("openssl dgst -sha256 -r " .. fs.quote(path)):match("^(%x+)"))
end

local IMAGES = "examples/images/"

-- The example images' base64, read once per run.
local image_cache = {}
local function image_base64(name)
  image_cache[name] = image_cache[name] or sandbox.base64_file(IMAGES .. name)
  return image_cache[name]
end

--- The API document's example onboarding payload, with the example JPEGs
-- (id-front.jpg, id-back.jpg, face.jpg) base64-encoded in every document slot.
-- `id_number` replaces the Emirates ID number (default 784199554586091).
function sandbox.example_payload(id_number)
  local front, back, face = image_base64("id-front.jpg"), image_base64("id-back.jpg"), image_base64("face.jpg")
  local function doc(b64) return { base64_data = b64, content_type = "image/jpeg" } end
  return {
    channel = "WEB", first_name = "IRFAN MANAKKAT THEKKE", salutation = "Mr",
    middle_name = "PURAYIL ISMAIL", last_name = "NANGARATH MUNDACHI",
    preferred_name = "IRFAN MANAKKAT THEKKE", nationality = "IN", second_nationality = "GB",
    native_region = 1, date_of_birth = "1995-07-28", country_of_birth = "IN", place_of_birth = "INDIA",
    resident_type_id = 101, country_of_residence = "AE", gender = "Male", mothers_maiden_name = "SAFIYA",
    primary_mobile_number = "+971502106707", secondary_mobile_number = "+971502412378",
    email_id = "irfanmtp1@gmail.com", phone_number = "+971502106707", occupation_id = 2856,
    political_exposed_person = false, updated_by = "784irfan",
    additional_docs = {
      { base64_data = face, content_type = "image/jpeg", document_id = "1" },
      { base64_data = front, content_type = "image/jpeg", document_id = "2" },
    },
    address_list = {
      { address_type_id = "1", building_name = "MANKHOOL BUILDING", street_name = "Electra Street",
        landmark = "HOT Bread", city = "Electra Street", district = "Abu Dhabi", state = "Abu Dhabi",
        country = "AE", zip = 0, po_box = cjson.null, mobile_number = "+971502106707" },
      { address_type_id = "2", building_name = "ABC House", street_name = "Kaikottukadavu",
        landmark = "ABC School", city = "Thrikkaripur", district = "Kasaragod", state = "kerala",
        country = "IN", zip = 13345, mobile_number = "+971502106707" },
    },
    id_details = {
      { id_type = 4, id_number = id_number or "784199554586091", name_as_per_id = "Irfan Manakkat Thekke Purayil",
        issued_country = "AE", issued_by = "EIDA", issued_at = "AE Govt.", issued_on = "2020-08-08",
        date_of_expiry = "2023-08-08", default_status = true, active_status = true,
        id_front = doc(front), id_back = doc(back) },
      { id_type = 2, id_number = "P4006315", visa_number = "VISA123", visa_expiry_date = "2024-06-30",
        name_as_per_id = "IRFAN M T P", issued_country = "IN", issued_by = "India Govt.",
        issued_at = "Kozhikkode", issued_on = "2016-04-28", date_of_expiry = "2026-04-27",
        default_status = true, active_status = true, id_front = doc(front), id_back = doc(back) },
    },
    customer_classification = {
      customer_type_id = 2, annual_income_range_id = 15, annual_income_currency_code = "AED",
      social_security_number = "SSN123", tax_registration_number = 123, txn_issued_country = "AE",
      employer_name = "EMKE", employer_address = "UAE", employer_phone = "+971502106101",
      employer_ecrn = "", employer_establishment_id = "LULUEXCHANGE123", risk_rating_id = 3,
      pep_category = 1, personal_mohre_id = "IRFAN786", income_type = 1, profession_category = "PC1",
      reason_for_acc = "Remittance", txn_vol_month = 1, txn_count_month = 1, show_remarks_on_txn = false,
      customer_remarks = "Test Remarks", agent_ref_no = "786000786",
      social_links = { { social_links_id = 2, text_field = "insta.com" },
                       { social_links_id = 1, text_field = "fb.com" } },
      first_language = "en", marital_status = 2, dnfbp = false, dpms = false, profile_category = 1,
      profile_photo = doc(face),
    },
  }
end

--- A payload built the way NOTES.md's production partner client builds it:
-- explicit nulls, "" for empty text, additional_docs as [], zip as a digit
-- string, local landline numbers, MyKad id_type 28. Returns the JSON text
-- (cjson cannot write an empty array), ready to send chunked.
function sandbox.partner_payload_json(id_number)
  local photo, front = image_base64("face.jpg"), image_base64("id-front.jpg")
  local payload = {
    channel = "DIGITAL", salutation = cjson.null, first_name = "SITI", middle_name = "",
    last_name = "AMINAH BINTI ABDULLAH", preferred_name = cjson.null, nationality = "MY",
    second_nationality = cjson.null, native_region = cjson.null, date_of_birth = "1990-02-28",
    country_of_birth = "MY", place_of_birth = "", resident_type_id = 101, country_of_residence = "MY",
    gender = "Female", mothers_maiden_name = "", primary_mobile_number = "+60123456789",
    secondary_mobile_number = cjson.null, email_id = "siti.aminah@example.com", phone_number = "0321234567",
    occupation_id = cjson.null, political_exposed_person = true, updated_by = "partner-api",
    agent_location_id = "Malaysia", additional_docs = "__EMPTY_ARRAY__",
    address_list = {
      { address_type_id = "1", building_name = "", street_name = "Jalan Ampang 12", landmark = cjson.null,
        city = "Kuala Lumpur", district = "", state = "Wilayah Persekutuan", country = "MY", zip = "40000",
        po_box = cjson.null, mobile_number = "0321234567" },
    },
    id_details = {
      { id_type = 28, id_number = id_number or "900228145678", visa_number = cjson.null,
        visa_expiry_date = cjson.null, name_as_per_id = "SITI AMINAH BINTI ABDULLAH", issued_country = "MY",
        issued_by = "MYKD", issued_at = "", issued_on = cjson.null, date_of_expiry = "2031-02-28",
        default_status = true, active_status = true,
        id_front = { base64_data = front, content_type = "image/jpeg" }, id_back = cjson.null },
    },
    customer_classification = {
      customer_type_id = 1, annual_income_range_id = cjson.null, annual_income_currency_code = "MYR",
      social_security_number = "", tax_registration_number = cjson.null, txn_issued_country = "MY",
      employer_name = "", employer_address = "", employer_phone = "", employer_ecrn = "",
      profession_category = "PC7", social_links = "__EMPTY_ARRAY__", profile_photo =
        { base64_data = photo, content_type = "image/jpeg" },
    },
  }
  return (cjson.encode(payload):gsub('"__EMPTY_ARRAY__"', "[]"))
end

--- The token form as the production partner client sends it: no scope.
function Sandbox:partner_token_form()
  local e = self.env
  return { username = e.CDP_USERNAME, password = e.CDP_PASSWORD, grant_type = "password",
           client_id = e.CDP_CLIENT_ID, client_secret = e.CDP_CLIENT_SECRET }
end

return sandbox
