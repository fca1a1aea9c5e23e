-- Mapping of an e-KYC provider's CSV export (examples/ekyc-export.csv) to the
-- CDP's customer. Try it:
--   cdp-onboard check  examples/ekyc-mapping.lua examples/ekyc-export.csv
--   cdp-onboard render examples/ekyc-mapping.lua examples/ekyc-export.csv --record 1
-- Records 8 (31 February), 9 (nationality "Atlantis") and 10 (an image file
-- that does not exist) are wrong on purpose, to show what `check` reports.
-- Record 11's Emirates ID is one of the sandbox's triggers: the CDP answers
-- 45013 (customer under compliance investigation, an AML alert open).
local cdp = require "cdp"
local m = cdp.mapping

return cdp.mapping {
  key = "Customer ID",
  channel = m.const("EKYC"),
  first_name = m.name("Full Name", "first"),
  middle_name = m.name("Full Name", "middle"),
  last_name = m.name("Full Name", "last"),
  date_of_birth = m.date("Date of Birth", "%d/%m/%Y"),
  gender = "Gender",
  nationality = m.country("Nationality"),
  country_of_birth = m.country("Country of Birth"),
  country_of_residence = m.const("AE"),
  resident_type_id = 101,
  primary_mobile_number = m.phone("Mobile", "AE"),
  email_id = "Email",
  political_exposed_person = "PEP",
  id_details = {
    {
      id_type = 4,  -- Emirates ID
      id_number = "Emirates ID",
      name_as_per_id = "Full Name",
      issued_country = m.const("AE"),
      issued_by = m.const("EIDA"),
      issued_on = m.date("ID Issue Date", "%d/%m/%Y"),
      date_of_expiry = m.date("ID Expiry Date", "%d/%m/%Y"),
      default_status = true,
      active_status = true,
      id_front = m.file("images/%s", "Front Image"),
      id_back = m.file("images/%s", "Back Image"),
    },
  },
  address_list = {
    {
      address_type_id = m.const("1"),
      building_name = "Building",
      street_name = "Street",
      city = "City",
      state = "Emirate",
      country = m.const("AE"),
    },
  },
  customer_classification = {
    profile_photo = m.file("images/%s", "Selfie"),
  },
  rules = {
    -- A partner rule: this partner onboards adults only.
    function(customer)
      local year = tonumber(customer.date_of_birth:sub(1, 4))
      return year <= tonumber(os.date("!%Y")) - 18, "customer is under 18"
    end,
  },
}
