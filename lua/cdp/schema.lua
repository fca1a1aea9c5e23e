--- cdp.schema: the Partner Onboarding Service's fields, as data.
--
-- Names, nesting and order are those of the API document's example payload
-- (onboarding) and response tables (lookup, onboarding). The document's own
-- field table for onboarding is lost from our copy, so lengths, mandatory
-- flags and code lists come from NOTES.md; every such point carries
-- `inferred = true` right where it is defined and is one edit away from change.
--
-- A field: { name, type, max = n, required = true, format = …, enum = {…},
--            fields = {…} (object), items = field (array), inferred = true }
-- Types: string, integer, boolean, digits (an integer the CDP also takes as a
-- digit string), object, array, document.
-- Formats of strings: date (YYYY-MM-DD), country (ISO 3166-1 alpha-2),
-- currency (ISO 4217), e164 (+ and digits), phone (E.164, or a local number
-- with a warning), email, numeric (digits only).
local schema = {}

local function object(fields)
  local by_name = {}
  for i, f in ipairs(fields) do
    f.index = i
    by_name[f.name] = f
  end
  return { type = "object", fields = fields, by_name = by_name }
end

local function str(name, max, extra)
  local f = extra or {}
  f.name, f.type, f.max = name, "string", max
  return f
end

local function int(name, extra)
  local f = extra or {}
  f.name, f.type = name, "integer"
  return f
end

local function bool(name, extra)
  local f = extra or {}
  f.name, f.type = name, "boolean"
  return f
end

local function doc(name, extra)
  local f = extra or {}
  f.name, f.type = name, "document"
  return f
end

local function array(name, item, extra)
  local f = extra or {}
  f.name, f.type, f.items = name, "array", item
  return f
end

local function nested(name, fields, extra)
  local f = object(fields)
  for k, v in pairs(extra or {}) do f[k] = v end
  f.name = name
  return f
end

--- Published value sets (v1.0.3, "Customer Onboarding Status details").
schema.CUSTOMER_STATUS = { "ACTIVE", "KYC_PENDING", "INACTIVE", "REJECTED", "BLOCKED" }
schema.AML_SCAN_STATUS = { "Accepted", "Rejected", "Under Investigation", "Failed" }
schema.ID_STATUS = { "Active", "Expired", "Inactive" }

--- Observed code lists (NOTES.md; the CDP's master data is the authority).
schema.GENDER = { "Male", "Female", "Other" }                -- inferred
schema.ADDRESS_TYPE = { "1", "2" }                            -- inferred: 1 residence, 2 home country
-- Codes seen in partner code but not published: a value outside them is a
-- warning (the CDP's master data decides), never an error.
schema.ID_TYPES = { [2] = "passport", [4] = "Emirates ID", [28] = "MyKad", [29] = "UNHCR card" }  -- inferred
schema.RESIDENT_TYPES = { [100] = "non-resident", [101] = "resident" }                           -- inferred
schema.EMIRATES_ID_TYPE = 4
schema.EMIRATES_ID_NUMBER = "^784%d%d%d%d%d%d%d%d%d%d%d%d$"  -- inferred: 15 digits from 784 (NOTES.md)
schema.CONTENT_TYPES = { "image/jpeg", "image/png", "application/pdf" }

--- The onboarding (and update) request.
schema.customer = object {
  str("ecrn", 20, { format = "numeric", inferred = true }),   -- only for an update (observed)
  str("channel", 20, { required = true, inferred = true }),   -- WEB, DIGITAL, MOBILE, EKYC, N/A seen
  str("first_name", 100, { required = true }),
  str("salutation", 3, { inferred = true }),
  str("middle_name", 60),
  str("last_name", 60, { required = true, inferred = true }),
  str("preferred_name", 255, { inferred = true }),
  str("nationality", 2, { format = "country", required = true, inferred = true }),
  str("second_nationality", 2, { format = "country" }),
  int("native_region"),
  str("date_of_birth", 10, { format = "date", required = true, inferred = true }),
  str("country_of_birth", 2, { format = "country", required = true, inferred = true }),
  str("place_of_birth", 40, { inferred = true }),
  int("resident_type_id", { required = true, inferred = true }),   -- 101 resident, 100 non-resident
  str("country_of_residence", 2, { format = "country", required = true, inferred = true }),
  str("gender", 12, { enum = schema.GENDER, required = true, inferred = true }),
  str("mothers_maiden_name", 255, { inferred = true }),
  str("primary_mobile_number", 20, { format = "e164", required = true, inferred = true }),
  str("secondary_mobile_number", 20, { format = "phone", inferred = true }),
  str("email_id", 255, { format = "email", required = true, inferred = true }),
  str("phone_number", 20, { format = "phone", inferred = true }),  -- local landlines seen
  int("occupation_id"),
  bool("political_exposed_person"),
  str("updated_by", 50, { inferred = true }),
  str("agent_location_id", 60, { inferred = true }),  -- observed filled with a country name
  -- An item is written {document = cdp.file(…), document_id = "1"} and sent
  -- flat, as the API's {base64_data, content_type, document_id}.
  array("additional_docs", nested("additional_doc", {
    doc("document", { required = true }),
    str("document_id", 10, { required = true, inferred = true }),
  }, { flat_document = "document" })),
  array("address_list", nested("address", {
    str("address_type_id", 2, { enum = schema.ADDRESS_TYPE, inferred = true }),
    str("building_name", 255, { inferred = true }),
    str("street_name", 255, { inferred = true }),
    str("landmark", 255, { inferred = true }),
    str("city", 60, { inferred = true }),
    str("district", 255, { inferred = true }),
    str("state", 255, { inferred = true }),
    str("country", 2, { format = "country" }),
    { name = "zip", type = "digits", max = 10, inferred = true },  -- 0 in the document, "40000" observed
    str("po_box", 20, { inferred = true }),
    str("mobile_number", 20, { format = "phone", inferred = true }),
  }), { required = true, inferred = true }),
  array("id_details", nested("id", {
    int("id_type", { required = true }),        -- 4 Emirates ID, 2 passport, 28 MyKad, 29 UNHCR
    str("id_number", 30, { required = true }),
    str("visa_number", 30, { inferred = true }),
    str("visa_expiry_date", 10, { format = "date" }),
    str("name_as_per_id", 255, { inferred = true }),
    str("issued_country", 2, { format = "country" }),
    str("issued_by", 255, { inferred = true }),
    str("issued_at", 255, { inferred = true }),
    str("issued_on", 10, { format = "date" }),
    str("date_of_expiry", 10, { format = "date" }),
    bool("default_status"),
    bool("active_status"),
    doc("id_front"),
    doc("id_back"),
  }), { required = true, min_items = 1, inferred = true }),
  nested("customer_classification", {
    int("customer_type_id"),
    int("annual_income_range_id"),
    str("annual_income_currency_code", 3, { format = "currency" }),
    str("social_security_number", 60, { inferred = true }),
    int("tax_registration_number", { inferred = true }),
    str("txn_issued_country", 2, { format = "country" }),
    str("employer_name", 255, { inferred = true }),
    str("employer_address", 255, { inferred = true }),
    str("employer_phone", 20, { format = "phone", inferred = true }),
    str("employer_ecrn", 20, { inferred = true }),
    str("employer_establishment_id", 60, { inferred = true }),
    int("risk_rating_id"),
    int("pep_category"),
    str("personal_mohre_id", 60, { inferred = true }),
    int("income_type"),
    str("profession_category", 20, { inferred = true }),  -- a string code (observed)
    str("reason_for_acc", 255, { inferred = true }),
    int("txn_vol_month"),
    int("txn_count_month"),
    bool("show_remarks_on_txn"),
    str("customer_remarks", 255, { inferred = true }),
    str("agent_ref_no", 60, { inferred = true }),
    array("social_links", nested("social_link", {
      int("social_links_id"),
      str("text_field", 255, { inferred = true }),
    })),
    str("first_language", 10, { inferred = true }),
    int("marital_status"),                    -- 1 married, 2 unmarried (observed)
    bool("dnfbp"),
    bool("dpms"),
    int("profile_category"),
    doc("profile_photo"),
  }),
}

--- Access token request (form-encoded) and response (published). The
-- document marks `scope` mandatory; the observed production partner sends
-- none, and its token calls work.
schema.token_request = object {
  str("grant_type", 10, { required = true }),   -- "password" or "refresh_token", sent once
  str("scope", 60, { inferred = true }),         -- published MANDATORY, observed absent
  str("client_id", 60, { required = true }),
  str("client_secret", 60, { required = true }),
  str("username", 60),                          -- password grant only
  str("password", 60),                          -- password grant only
  str("refresh_token", 600),                    -- refresh grant only
}

schema.token_response = object {
  str("token_type", nil, { required = true }),
  str("scope", nil, { required = true }),
  str("access_token", 600, { required = true }),
  str("refresh_token", 600, { required = true }),
  int("expires_in", { required = true }),
  int("refresh_expires_in", { required = true }),
}

--- Lookup v2 request and the customer data of its response (published).
schema.lookup_request = object {
  str("idType", 3, { required = true }),
  str("idNumber", 30, { required = true }),
}

schema.lookup_data = object {
  str("ecrn", 20), str("first_name", 100), str("middle_name", 60), str("last_name", 60),
  str("agent_location_id", 10), str("primary_mobile_number", 20), str("email_id", 255),
  str("customer_status", 20, { enum = schema.CUSTOMER_STATUS }),
  str("aml_scan_status", 20, { enum = schema.AML_SCAN_STATUS }),
  str("id_status", 20, { enum = schema.ID_STATUS }),
  str("id_date_of_expiry", 50),  -- documented YYYY-MM-DD, example a full timestamp: accept both
}

--- The lookup's whole answer, always HTTP 200 (published; camelCase).
schema.lookup_response = object {
  str("status", 255, { enum = { "success", "failure" } }),
  int("statusCode"),
  int("errorCode"),
  str("message", 255),
  nested("data", schema.lookup_data.fields),
}

--- Onboarding success data (published).
schema.onboard_data = object {
  str("aml_scan_status", 20, { enum = schema.AML_SCAN_STATUS }),
  str("ecrn", 20),
  str("customer_status", 20, { enum = schema.CUSTOMER_STATUS }),
  bool("pep"),
  int("aml_category"),
}

--- The onboarding's whole answer (published; snake_case). `details` maps
-- camelCase field names to messages ({"firstName": "Invalid first name"}):
-- free keys, so it is not described field by field.
schema.onboard_response = object {
  str("status", 20, { enum = { "success", "failed", "failure" } }),
  nested("data", schema.onboard_data.fields),
  int("status_code"),   -- may differ from the HTTP status (400 with 406)
  int("error_code"),
  str("message", 255),
  { name = "details", type = "map" },
  str("request_id", 64, { inferred = true }),
}

--- The gateway's 401 body (published; Spring style).
schema.unauthorized_response = object {
  str("timestamp"), int("status"), str("error"), str("message"), str("path"),
}

--- The AML alert closure callback body (inferred from v1.0.2 and observed code).
schema.aml_callback = object {
  str("ecrn", 20, { required = true, format = "numeric" }),
  str("aml_scan_status", 20, { required = true, enum = schema.AML_SCAN_STATUS }),
  str("customer_status", 20, { required = true, enum = schema.CUSTOMER_STATUS }),
}

--- The partner's answer to the callback, with the HTTP status equal to
-- `status_code`: 200 updated, 404 unknown ECRN, 500 failure (inferred).
schema.aml_callback_response = object {
  int("status_code", { required = true, inferred = true }),
  str("status", 10, { required = true, enum = { "success", "failed" }, inferred = true }),
  str("message", 255, { inferred = true }),
}

return schema
