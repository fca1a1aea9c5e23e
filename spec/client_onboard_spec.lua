-- Onboarding through the client against the sandbox over HTTPS: the API
-- document's example payload with real image files, streamed; unknown
-- outcomes reconciled by lookup, never a second customer.
local sandbox = require "helpers.sandbox"
local cdp = require "cdp"
local document = require "cdp.document"
local core = require "cdp.core"
local cjson = require "cjson"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"
local IMAGES = "examples/images/"

local function client_for(sb, extra) return sb:client(extra) end

-- cdp.customer(t) -> customer | nil, err: the customer engineer's module.
local has_customer = type(cdp.customer) == "function"

-- Until cdp.customer lands: a customer made of hand-made parts (JSON text
-- around each document, the document standing for its base64).
local function hand_built(t)
  local docs = {}
  local function placeholder(doc)
    assert(doc:check())
    docs[#docs + 1] = doc
    return "\0DOC" .. #docs .. "\0"
  end
  local function walk(v)
    if document.is(v) then
      return { base64_data = placeholder(v), content_type = v.content_type }
    end
    if type(v) == "table" and document.is(v.document) then  -- an additional_docs item
      return { base64_data = placeholder(v.document), content_type = v.document.content_type,
               document_id = v.document_id }
    end
    if type(v) ~= "table" then return v end
    local out = {}
    for k, x in pairs(v) do
      out[k] = (k == "base64_data" and document.is(x)) and placeholder(x) or walk(x)
    end
    return out
  end
  local text = cjson.encode(walk(t))
  local parts, pos = {}, 1
  for s, i, f in text:gmatch('()\\u0000DOC(%d+)\\u0000()') do
    parts[#parts + 1] = text:sub(pos, s - 1)
    parts[#parts + 1] = docs[tonumber(i)]
    pos = f
  end
  parts[#parts + 1] = text:sub(pos)
  local built = { data = t }
  function built.parts() return parts end
  return setmetatable(built, { __name = "hand-built customer" })
end

local function build(t)
  if has_customer then
    return assert(cdp.customer(t))
  end
  return hand_built(t)
end

-- The document's example payload with documents from files.
local function example(id_number)
  local t = sandbox.example_payload(id_number)
  local front, back, face = IMAGES .. "id-front.jpg", IMAGES .. "id-back.jpg", IMAGES .. "face.jpg"
  t.additional_docs[1] = { document = cdp.file(face), document_id = "1" }
  t.additional_docs[2] = { document = cdp.file(front), document_id = "2" }
  for _, id in ipairs(t.id_details) do
    id.id_front, id.id_back = cdp.file(front), cdp.file(back)
  end
  t.customer_classification.profile_photo = cdp.file(face)
  return t
end

local simple_example = example

-- A JPEG of `kib` KiB (signature, then random bytes), removed at exit.
local big_jpegs = {}
local function big_jpeg(kib)
  if not big_jpegs[kib] then
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    local bytes = { "\255\216\255\224" }
    for i = 1, kib * 4 - 1 do bytes[#bytes + 1] = ("%08x"):format(i * 7919):rep(32) end
    f:write(table.concat(bytes))
    f:close()
    big_jpegs[kib] = path
  end
  return big_jpegs[kib]
end

-- Bodies under 64 KiB go out with the headers in one write; longer ones
-- stream. Each size runs the cases that send a body whole and again.
local SIZES = {
  { name = "small body (sent with the headers)", example = simple_example, face = IMAGES .. "face.jpg" },
  { name = "large body (streamed)", face_kib = 300, example = function(id)
      local t = simple_example(id)
      t.customer_classification.profile_photo = cdp.file(big_jpeg(300))
      return t
    end },
}

local function n(v) return v or 0 end

describe("cdp.client onboarding", function()
  local sb, c

  setup(function()
    sb = sandbox.start{}
  end)

  teardown(function()
    if c then c:close() end
    if sb then sb:stop() end
    for _, path in pairs(big_jpegs) do os.remove(path) end
  end)

  before_each(function()
    sb:reset{ customers = true }
    c = c or client_for(sb)
  end)

  it("sends the example payload with real image files; the sandbox decodes them byte for byte", function()
    local t = simple_example("784199554586091")
    local data, err = c:onboard(build(t))
    assert.is_nil(err and err.kind)
    assert.are.equal("ACTIVE", data.customer_status)
    assert.matches("^%d+$", data.ecrn)
    local stored = assert(sb:customer(data.ecrn))
    local want = {
      ["id_details[0].id_front"] = IMAGES .. "id-front.jpg", ["id_details[0].id_back"] = IMAGES .. "id-back.jpg",
      ["id_details[1].id_front"] = IMAGES .. "id-front.jpg", ["id_details[1].id_back"] = IMAGES .. "id-back.jpg",
      ["customer_classification.profile_photo"] = IMAGES .. "face.jpg",
      ["additional_docs[0]"] = IMAGES .. "face.jpg", ["additional_docs[1]"] = IMAGES .. "id-front.jpg",
    }
    for slot, path in pairs(want) do
      local doc = stored.documents[slot]
      assert.is_table(doc, slot)
      assert.are.equal(sandbox.sha256_file(path), doc.sha256, slot)
      local f = assert(io.open(path, "rb"))
      assert.are.equal(#f:read("*a"), doc.size, slot)
      f:close()
      assert.are.equal("image/jpeg", doc.content_type)
    end
    assert.are.equal(1, sb:counters().customers.created)
  end)

  for _, size in ipairs(SIZES) do
    it(size.name .. ": sent again, whole, after a 401 for a revoked token", function()
      assert.are.equal(45001, select(2, c:lookup(4, "784199554586089")).code)
      sb:revoke_tokens("access")
      local data = assert(c:onboard(build(size.example("784199554586089"))))
      local counters = sb:counters()
      assert.are.equal(1, counters.unauthorized.total)
      assert.are.equal(2, counters.calls[ONBOARD])
      assert.are.equal(1, counters.customers.created)
      local stored = assert(sb:customer(data.ecrn))
      local face = size.face or big_jpeg(size.face_kib)
      assert.are.equal(sandbox.sha256_file(face), stored.documents["customer_classification.profile_photo"].sha256)
      assert.are.equal(sandbox.sha256_file(IMAGES .. "id-back.jpg"), stored.documents["id_details[1].id_back"].sha256)
    end)
  end

  it("sends an ID number given as a Lua number as its digits, and an empty array as []", function()
    if not has_customer then
      pending("needs cdp.customer (the customer engineer's module) to build the body")
      return
    end
    local t = simple_example()
    t.id_details[1].id_number = 784199554586091
    t.customer_classification.social_links = {}
    local built = build(t)
    local text = {}
    for _, part in ipairs(built:parts()) do
      if type(part) == "string" then text[#text + 1] = part end
    end
    text = table.concat(text)
    assert.truthy(text:find('"id_number":"784199554586091"', 1, true))
    assert.truthy(text:find('"social_links":[]', 1, true))
    local data = assert(c:onboard(built))
    local stored = assert(sb:customer(data.ecrn))
    assert.are.equal("784199554586091", stored.payload.id_details[1].id_number)
  end)

  it("builds a plain table with cdp.customer, and returns its validation error unsent", function()
    if not has_customer then
      pending("needs cdp.customer")
      return
    end
    local data = assert(c:onboard(simple_example("784199554586088")))
    assert.matches("^%d+$", data.ecrn)
    local t = simple_example("784199554586087")
    t.email_id = "not an email"
    local none, err = c:onboard(t)
    assert.is_nil(none)
    assert.are.equal("validation", err.kind)
    assert.are.equal(1, sb:counters().calls[ONBOARD])
  end)

  it("reports a missing document file before anything is sent", function()
    local t = simple_example("784199554586092")
    t.id_details[1].id_front = cdp.file("/nonexistent/front.jpg")
    local ok, built = pcall(build, t)
    local data, err
    if ok then data, err = c:onboard(built) else err = { kind = "validation" } end
    assert.is_nil(data)
    assert.are.equal("validation", err.kind)
    assert.are.equal(0, n(sb:counters().calls[ONBOARD]))
  end)

  -- Validation checked the files; the C core opens them again when it builds
  -- the body, and must refuse one removed or emptied in between.
  for _, change in ipairs({ "removed", "emptied" }) do
    it("refuses, unsent, a document " .. change .. " after validation", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. dir))
      local copy = dir .. "/front.jpg"
      assert(os.execute(("cp %sid-front.jpg %s"):format(IMAGES, copy)))
      local t = simple_example("784199554586093")
      t.id_details[1].id_front = cdp.file(copy)
      local built = assert(cdp.customer(t))
      if change == "removed" then
        assert(os.remove(copy))
      else
        assert(io.open(copy, "wb")):close()
      end
      local data, err = c:onboard(built)
      os.remove(copy)
      os.remove(dir)
      assert.is_nil(data)
      assert.are.equal("validation", err.kind)
      local expected = change == "removed" and "id_details[1].id_front: cannot read " .. copy
        .. ": No such file or directory" or "id_details[1].id_front: file is empty: " .. copy
      assert.are.equal(expected, err.message)
      assert.are.equal(0, n(sb:counters().calls[ONBOARD]))
    end)
  end

  -- A file opened only when sent (submit's m.file): validation leaves it
  -- unopened, and the C core finds its type as it opens it to send.
  local function write_file(path, bytes)
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
  end
  local PNG = "\137PNG\r\n\26\n" .. ("\0\1\2png"):rep(300)
  local PDF = "%PDF-1.4\n" .. ("% pdf\n"):rep(300)

  it("gives a file opened only when sent the type its first bytes show, flat or not", function()
    local png, pdf = os.tmpname(), os.tmpname()
    write_file(png, PNG)
    write_file(pdf, PDF)
    local t = simple_example("784199554586095")
    local front = document._opened_when_sent(IMAGES .. "id-front.jpg")
    local back = document._opened_when_sent(png)
    local flat = document._opened_when_sent(pdf)
    t.id_details[1].id_front, t.id_details[1].id_back = front, back
    t.additional_docs[2].document = flat
    local built = assert(cdp.customer(t))
    assert.is_nil(front.content_type)  -- validation opened nothing
    local data, err = c:onboard(built)
    os.remove(png)
    os.remove(pdf)
    assert.is_nil(err and err.message)
    local stored = assert(sb:customer(data.ecrn))
    local want = {  -- slot: sha256 of what was sent, content type
      ["id_details[0].id_front"] = { sandbox.sha256_file(IMAGES .. "id-front.jpg"), "image/jpeg" },
      ["id_details[0].id_back"] = { core.sha256(PNG), "image/png" },
      ["additional_docs[1]"] = { core.sha256(PDF), "application/pdf" },
      ["additional_docs[0]"] = { sandbox.sha256_file(IMAGES .. "face.jpg"), "image/jpeg" },
    }
    for slot, w in pairs(want) do
      local doc = stored.documents[slot]
      assert.is_table(doc, slot)
      assert.are.same(w, { doc.sha256, doc.content_type }, slot)
    end
    -- The documents were told what went out.
    assert.are.same({ "image/jpeg", "image/png", "application/pdf" },
      { front.content_type, back.content_type, flat.content_type })
    assert.are.equal(1, sb:counters().customers.created)
  end)

  -- Its type is found at each send: a second one (after a token failure
  -- before anything left) writes it again, through the client and a batch.
  for _, how in ipairs({ "client", "batch" }) do
    it("types a file opened only when sent again when the onboarding is tried again (" .. how .. ")", function()
      sb:reset{ customers = true, tokens = true }
      local fresh = client_for(sb, { backoff = 0.01 })
      local t = simple_example(how == "client" and "784199554586097" or "784199554586098")
      t.id_details[1].id_front = document._opened_when_sent(IMAGES .. "id-front.jpg")
      t.additional_docs[1].document = document._opened_when_sent(IMAGES .. "face.jpg")  -- flat
      local built = assert(cdp.customer(t))
      sb:fault{ path = TOKEN, kind = "502", count = 1 }
      local data, err
      if how == "client" then
        data, err = fresh:onboard(built)
      else
        local b = fresh:batch(2)
        b:spawn(function(cl, cu) return cl:onboard(cu) end, built)
        while b:running() > 0 do
          for _, r in ipairs(b:wait(0.5)) do data, err = r[1], r[2] end
        end
        b:close()
      end
      fresh:close()
      assert.is_nil(err and err.message)
      -- The shared token was forgotten: a 401, then a grant that met the
      -- 502, then the onboarding again with a body built again.
      local counters = sb:counters()
      assert.are.same({ 1, 2, 1 },
        { counters.faults.fired[TOKEN], counters.calls[ONBOARD], counters.customers.created })
      local stored = assert(sb:customer(data.ecrn))
      assert.are.equal("image/jpeg", stored.documents["id_details[0].id_front"].content_type)
      assert.are.equal("image/jpeg", stored.documents["additional_docs[0]"].content_type)
    end)
  end

  for _, case in ipairs({
    { "missing", nil, "cannot read %s: No such file or directory" },
    { "empty", "", "file is empty: %s" },
    { "of no type the CDP takes", "GIF89a" .. ("x"):rep(100),
      "unknown content type of %s (not JPEG, PNG or PDF); give one" },
  }) do
    local what, bytes, message = case[1], case[2], case[3]
    it("refuses, unsent, a file opened only when sent that is " .. what, function()
      local path = os.tmpname()
      if bytes then write_file(path, bytes) else os.remove(path) end
      local t = simple_example("784199554586096")
      t.id_details[1].id_back = document._opened_when_sent(path)
      local built = assert(cdp.customer(t))
      local data, err = c:onboard(built)
      os.remove(path)
      assert.is_nil(data)
      assert.are.equal("validation", err.kind)
      assert.are.equal("id_details[1].id_back: " .. message:format(path), err.message)
      assert.is_true(err.nothing_sent)
      assert.are.equal(0, n(sb:counters().calls[ONBOARD]))
    end)
  end

  it("refuses, unsent, an empty in-memory document put in after validation", function()
    local built = assert(cdp.customer(simple_example("784199554586094")))
    built.data.id_details[1].id_front = cdp.bytes("", "image/jpeg")
    local data, err = c:onboard(built)
    assert.is_nil(data)
    assert.are.equal("validation", err.kind)
    assert.are.equal("id_details[1].id_front: document is empty", err.message)
    assert.are.equal(0, n(sb:counters().calls[ONBOARD]))
  end)

  for _, case in ipairs({ { "502" }, { "reset" }, { "truncate" }, { "invalid_json" }, { "reset", SIZES[2] } }) do
    local kind, size = case[1], case[2] or SIZES[1]
    it(size.name .. ": reconciles an onboarding hit by " .. kind .. " after it was processed: one customer, marked",
      function()
      local t = size.example("784199554586093")
      -- On a kept-alive connection: libcurl would send the request again by
      -- itself after a reset there, were that not refused.
      c:lookup(4, "784199554586099")
      sb:fault{ path = ONBOARD, kind = kind, when = "after", count = 1 }
      local data, info = c:onboard(build(t))
      assert.is_table(data, tostring(info))
      assert.is_true(data.reconciled)
      assert.matches("^%d+$", data.ecrn)
      local counters = sb:counters()
      assert.are.equal(1, counters.customers.created)
      assert.are.equal(0, n(counters.customers.duplicates))
      assert.are.equal(1, counters.calls[ONBOARD])
    end)
  end

  it("reconciles an onboarding whose answer timed out after it was processed", function()
    local slow = client_for(sb, { timeout = 1 })
    sb:fault{ path = ONBOARD, kind = "delay", delay = 3, when = "after", count = 1 }
    local data, info = slow:onboard(build(simple_example("784199554586094")))
    slow:close()
    assert.is_table(data, tostring(info))
    assert.is_true(data.reconciled)
    local counters = sb:counters()
    assert.are.equal(1, counters.customers.created)
    assert.are.equal(1, counters.calls[ONBOARD])
  end)

  for _, case in ipairs({ { "502" }, { "reset" }, { "reset", SIZES[2] } }) do
    local kind, size = case[1], case[2] or SIZES[1]
    it(size.name .. ": returns a retryable error when a " .. kind .. " hit before processing and no customer exists",
      function()
      c:lookup(4, "784199554586099")  -- a kept-alive connection, as above
      sb:fault{ path = ONBOARD, kind = kind, when = "before", count = 1 }
      local data, err = c:onboard(build(size.example("784199554586095")))
      assert.is_nil(data)
      assert.is_true(err.retryable)
      assert.is_true(err.kind == "server" or err.kind == "transport", err.kind)
      local counters = sb:counters()
      assert.are.equal(0, n(counters.customers.created))
      assert.are.equal(1, counters.calls[ONBOARD])
      -- Sending it again, as the error allows, creates it once.
      local again = assert(c:onboard(build(size.example("784199554586095"))))
      assert.is_nil(again.reconciled)
      assert.are.equal(1, sb:counters().customers.created)
    end)
  end

  it("maps 45013 (compliance investigation) with the ECRN from the message", function()
    local data, err = c:onboard(build(simple_example("784000000045013")))
    assert.is_nil(data)
    assert.are.equal("business", err.kind)
    assert.are.equal(45013, err.code)
    assert.are.equal("UNDER_COMPLIANCE_INVESTIGATION", err.name)
    assert.are.equal(406, err.http_status)
    assert.matches("^%d+$", err.ecrn)
    assert.is_truthy(sb:customer(err.ecrn))
    assert.matches("^%x+$", err.request_id)
  end)

  it("maps 45051 (blocked)", function()
    local _, err = c:onboard(build(simple_example("784000000045051")))
    assert.are.equal("business", err.kind)
    assert.are.equal(45051, err.code)
    assert.are.equal("CUSTOMER_BLOCKED", err.name)
    assert.are.equal(406, err.status_code)
  end)

  it("maps 502 / 40001 (backend technical problem) and looks the customer up", function()
    local _, err = c:onboard(build(simple_example("784000000040001")))
    assert.are.equal("server", err.kind)
    assert.are.equal(40001, err.code)
    assert.are.equal("BACKEND_TECHNICAL_PROBLEM", err.name)
    assert.are.equal(502, err.http_status)
    assert.are.equal(0, n(sb:counters().customers.created))
    assert.are.equal(1, sb:counters().calls["/caas/api/v2/customer/validate"])
  end)

  it("maps 45053 (invalid master data): HTTP 400, status_code 406", function()
    local t = simple_example("784199554586096")
    t.nationality = "QQ"
    -- Hand-built: cdp.customer would refuse it before sending.
    local _, err = c:onboard(hand_built(t))
    assert.are.equal("validation", err.kind)
    assert.are.equal(45053, err.code)
    assert.are.equal("INVALID_MASTER_DATA", err.name)
    assert.are.equal(400, err.http_status)
    assert.are.equal(406, err.status_code)
    assert.are.equal("Invalid Nationality QQ!", err.message)
  end)

  it("maps 40002 (missing mandatory field) with details", function()
    local t = simple_example("784199554586097")
    t.first_name = nil
    local _, err = c:onboard(hand_built(t))
    assert.are.equal("validation", err.kind)
    assert.are.equal(40002, err.code)
    assert.are.equal("VALIDATION_FAILED", err.name)
    assert.is_string(err.details.firstName)
  end)

  it("maps 45032 (update of an unknown customer)", function()
    local t = simple_example("784199554586098")
    t.ecrn = "7841999999999999"
    local _, err = c:onboard(build(t))
    assert.are.equal("business", err.kind)
    assert.are.equal(45032, err.code)
    assert.are.equal("CUSTOMER_UPDATE_FAILED", err.name)
    assert.are.equal(404, err.http_status)
  end)

  it("updates an existing customer when the payload carries its ecrn", function()
    local data = assert(c:onboard(build(simple_example("784199554586099"))))
    local t = simple_example("784199554586099")
    t.ecrn = data.ecrn
    t.first_name = "UPDATED"
    local again = assert(c:onboard(build(t)))
    assert.are.equal(data.ecrn, again.ecrn)
    assert.are.equal(1, sb:counters().customers.updated)
    assert.are.equal("UPDATED", sb:customer(data.ecrn).first_name)
  end)
end)
