-- Bad inputs: each case changes the document's example and expects exactly
-- one problem, at an exact path, with a message of a given kind.
local cdp = require "cdp"
local example_customer = require "fixtures.example_customer"

local IMAGES = "examples/images"

local CASES = {
  -- wrong types
  { "first_name is a table", function(t) t.first_name = {} end, "first_name", "expected text, got a list" },
  { "first_name is a boolean", function(t) t.first_name = true end, "first_name", "expected text, got a boolean" },
  { "a fraction for text", function(t) t.updated_by = 1.5 end, "updated_by", "number with a fraction" },
  { "resident_type_id is a word", function(t) t.resident_type_id = "resident" end,
    "resident_type_id", "expected a whole number" },
  { "occupation_id is a fraction", function(t) t.occupation_id = 28.5 end, "occupation_id", "expected a whole number" },
  { "id_type is a boolean", function(t) t.id_details[2].id_type = false end,
    "id_details[2].id_type", "expected a whole number, got a boolean" },
  { "PEP flag is yes", function(t) t.political_exposed_person = "yes" end,
    "political_exposed_person", 'expected true or false, got "yes"' },
  { "default_status is 2", function(t) t.id_details[1].default_status = 2 end,
    "id_details[1].default_status", "expected true or false" },
  { "zip has letters", function(t) t.address_list[2].zip = "KL-13" end, "address_list[2].zip", "expected digits" },
  { "address_list is an object", function(t) t.address_list = { city = "Dubai" } end,
    "address_list", "expected a list, got an object" },
  { "id_details item is text", function(t) t.id_details[2] = "P4006315" end,
    "id_details[2]", "expected an object, got text" },
  { "classification is a list", function(t) t.customer_classification = { 1, 2 } end,
    "customer_classification", "expected an object, got a list" },
  { "social link id is text", function(t) t.customer_classification.social_links[2].social_links_id = "fb" end,
    "customer_classification.social_links[2].social_links_id", "expected a whole number" },
  -- mandatory fields
  { "no first_name", function(t) t.first_name = nil end, "first_name", "^is required$" },
  { "empty last_name", function(t) t.last_name = "  " end, "last_name", "is required %(empty%)" },
  { "null nationality", function(t) t.nationality = cdp.null end, "nationality", "null given" },
  { "no id_details", function(t) t.id_details = nil end, "id_details", "^is required$" },
  { "empty id_details", function(t) t.id_details = {} end, "id_details", "at least 1 item" },
  { "no id_number", function(t) t.id_details[2].id_number = nil end, "id_details[2].id_number", "^is required$" },
  { "no document_id", function(t) t.additional_docs[2].document_id = nil end,
    "additional_docs[2].document_id", "^is required$" },
  -- lengths
  { "long first_name", function(t) t.first_name = ("A"):rep(101) end,
    "first_name", "longer than 100 characters %(101%)" },
  { "long middle_name in UTF-8", function(t) t.middle_name = ("é"):rep(61) end,
    "middle_name", "longer than 60 characters %(61%)" },
  { "long salutation", function(t) t.salutation = "Mister" end, "salutation", "longer than 3" },
  { "long city", function(t) t.address_list[1].city = ("x"):rep(61) end, "address_list[1].city", "longer than 60" },
  { "long id_number", function(t) t.id_details[1].id_number = ("9"):rep(31) end,
    "id_details[1].id_number", "longer than 30" },
  -- dates
  { "29 February 2023", function(t) t.date_of_birth = "2023-02-29" end, "date_of_birth", "not a real date" },
  { "day/month/year", function(t) t.date_of_birth = "28/07/1995" end, "date_of_birth", "YYYY%-MM%-DD" },
  { "month 13", function(t) t.id_details[2].issued_on = "2016-13-01" end,
    "id_details[2].issued_on", "not a real date" },
  { "31 April", function(t) t.id_details[1].date_of_expiry = "2030-04-31" end,
    "id_details[1].date_of_expiry", "not a real date" },
  { "a timestamp", function(t) t.id_details[2].visa_expiry_date = "2024-06-30T00:00:00Z" end,
    "id_details[2].visa_expiry_date", "not a real date" },
  { "expiry before issue", function(t) t.id_details[2].date_of_expiry = "2015-01-01" end,
    "id_details[2].date_of_expiry", "must be after issued_on %(2016%-04%-28%)" },
  { "born in the future", function(t) t.date_of_birth = "2099-01-01" end, "date_of_birth", "must be in the past" },
  -- countries and currencies
  { "INN nationality", function(t) t.nationality = "INN" end, "nationality", 'not an ISO 3166 country: "INN"' },
  { "XX address country", function(t) t.address_list[1].country = "XX" end,
    "address_list[1].country", "not an ISO 3166 country" },
  { "Narnia birth country", function(t) t.country_of_birth = "Narnia" end, "country_of_birth", "ISO 3166" },
  { "issued_country number", function(t) t.id_details[1].issued_country = 784 end,
    "id_details[1].issued_country", "ISO 3166" },
  { "currency DIRHAM", function(t) t.customer_classification.annual_income_currency_code = "DIR" end,
    "customer_classification.annual_income_currency_code", "ISO 4217" },
  -- phones and email
  { "primary mobile local", function(t) t.primary_mobile_number = "0502106707" end,
    "primary_mobile_number", "not an E%.164 number" },
  { "primary mobile too short", function(t) t.primary_mobile_number = "+97150" end,
    "primary_mobile_number", "E%.164" },
  { "primary mobile letters", function(t) t.primary_mobile_number = "+9715021O6707" end,
    "primary_mobile_number", "E%.164" },
  { "secondary mobile +0", function(t) t.secondary_mobile_number = "+0502412378" end,
    "secondary_mobile_number", "E%.164" },
  { "address phone letters", function(t) t.address_list[2].mobile_number = "call me" end,
    "address_list[2].mobile_number", "not a phone number" },
  { "email without domain", function(t) t.email_id = "irfan@" end, "email_id", "not an email address" },
  { "email with space", function(t) t.email_id = "irfan mtp@gmail.com" end, "email_id", "not an email address" },
  -- enumerations
  { "gender M", function(t) t.gender = "M" end, "gender", "must be one of Male, Female, Other" },
  { "address type 3", function(t) t.address_list[2].address_type_id = "3" end,
    "address_list[2].address_type_id", "must be one of 1, 2" },
  -- documents
  { "missing image file", function(t) t.id_details[1].id_front = cdp.file("no/such/front.jpg") end,
    "id_details[1].id_front", "cannot read no/such/front%.jpg" },
  { "document as a path string", function(t) t.customer_classification.profile_photo = "face.jpg" end,
    "customer_classification.profile_photo", "expected a document" },
  { "text file as an image", function(t) t.id_details[2].id_back = cdp.file("README.md") end,
    "id_details[2].id_back", "unknown content type" },
  { "raw base64 that is not", function(t)
      t.id_details[2].id_front = { base64_data = "@@@", content_type = "image/jpeg" }
    end,
    "id_details[2].id_front.base64_data", "not base64" },
  { "raw document of type gif", function(t)
      t.customer_classification.profile_photo = { base64_data = "R0lGODdh", content_type = "image/gif" }
    end, "customer_classification.profile_photo.content_type", "image/jpeg, image/png or application/pdf" },
  { "no front image on any ID", function(t) t.id_details[1].id_front = nil; t.id_details[2].id_front = nil end,
    "id_details", "needs a front image" },
  -- typos and unknown fields
  { "frist_name", function(t) t.frist_name = t.first_name end, "frist_name", "did you mean first_name%?" },
  { "nationalty", function(t) t.nationalty = "IN" end, "nationalty", "did you mean nationality%?" },
  { "id_numbr in an ID", function(t) t.id_details[2].id_numbr = "P1" end,
    "id_details[2].id_numbr", "did you mean id_number%?" },
  { "adress typo in address", function(t) t.address_list[1].stret_name = "x" end,
    "address_list[1].stret_name", "did you mean street_name%?" },
  { "unrelated field", function(t) t.favourite_colour = "blue" end, "favourite_colour", "^unknown field$" },
  { "typo in classification", function(t) t.customer_classification.marital_stat = 1 end,
    "customer_classification.marital_stat", "did you mean marital_status%?" },
  -- text encoding
  { "invalid UTF-8", function(t) t.place_of_birth = "IND\255IA" end, "place_of_birth", "not valid UTF%-8" },
}

describe("cdp.customer refuses", function()
  it("has at least 40 cases", function()
    assert.is_true(#CASES >= 40)
  end)

  for _, case in ipairs(CASES) do
    local name, change, path, pattern = case[1], case[2], case[3], case[4]
    it(name, function()
      local t = example_customer(IMAGES)
      change(t)
      local c, err = cdp.customer(t, { today = "2023-01-01" })
      assert.is_nil(c)
      assert.equal("validation", err.kind)
      assert.equal(1, #err.errors, "problems: " .. tostring(err))
      assert.equal(path, err.errors[1].path)
      assert.matches(pattern, err.errors[1].message)
      assert.matches(path, tostring(err), 1, true)
    end)
  end

  it("every problem at once, in field order", function()
    local t = example_customer(IMAGES)
    t.first_name, t.gender, t.id_details[2].issued_country = nil, "X", "ZZ"
    local _, err = cdp.customer(t)
    local paths = {}
    for i, e in ipairs(err.errors) do paths[i] = e.path end
    assert.same({ "first_name", "gender", "id_details[2].issued_country" }, paths)
    assert.matches("^invalid customer: 3 problems, first first_name: is required$", err.message)
  end)

  it("never shows a document's bytes", function()
    local t = example_customer(IMAGES)
    local secret = "\255\216\255" .. ("SECRETBYTES"):rep(10)
    t.id_details[1].id_front = cdp.bytes(secret, "image/gif")
    t.id_details[2].id_back = { base64_data = "U0VDUkVUQllURVM=!", content_type = "image/jpeg" }
    local _, err = cdp.customer(t)
    local text = tostring(err)
    for _, e in ipairs(err.errors) do text = text .. e.message end
    assert.is_nil(text:find("SECRET", 1, true))
    assert.is_nil(text:find("U0VDUkVU", 1, true))
  end)
end)
