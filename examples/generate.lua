-- Generate a synthetic e-KYC export for trying cdp-onboard at scale:
--
--   lua5.4 examples/generate.lua --count 1000 --out /tmp/ekyc [--seed 7] [--format csv|jsonl]
--   cdp-onboard check  /tmp/ekyc/ekyc-mapping.lua /tmp/ekyc/records.csv
--   cdp-onboard submit /tmp/ekyc/ekyc-mapping.lua /tmp/ekyc/records.csv --parallel 8
--
-- Writes OUT/records.csv (or records.jsonl) with the columns of
-- examples/ekyc-export.csv, OUT/images/ with three small JPEGs per record (ID
-- front and back, a face photo; each file distinct), and OUT/ekyc-mapping.lua,
-- a copy of examples/ekyc-mapping.lua: a mapping's m.file paths are relative
-- to the mapping script, so the copy next to the records finds OUT/images.
--
-- Every record maps and validates, for the SDK and the sandbox: unique
-- Emirates ID numbers (784, the year of birth, 7 digits, a Luhn check digit;
-- never one of the sandbox's 7840000000XXXXX triggers), adults only, IDs
-- issued in the past. The same seed gives the same files, byte for byte,
-- under Lua 5.4 and LuaJIT (the generator has its own random numbers). Needs
-- cjpeg (libjpeg-turbo-progs) for the handful of base pictures that every
-- record's images are variants of; nothing from the cdp modules.
local argparse = require "argparse"

local parser = argparse("generate.lua", "Generate a synthetic e-KYC export (records and images) "
  .. "for examples/ekyc-mapping.lua.")
parser:option("--count", "Number of records.", "1000"):argname("N"):convert(function(v)
  local n = tonumber(v)
  if not n or n < 1 or n ~= math.floor(n) or n > 1000000 then return nil, "--count takes a number from 1 to 1000000" end
  return n
end)
parser:option("--out", "Output folder (created if missing)."):argname("DIR"):count(1)
parser:option("--seed", "Random seed: the same seed gives the same output.", "1"):argname("N"):convert(function(v)
  local n = tonumber(v)
  if not n or n < 0 or n ~= math.floor(n) or n >= 2 ^ 31 then
    return nil, "--seed takes a whole number from 0 to 2^31-1"
  end
  return n
end)
parser:option("--format", "Records file format.", "csv"):choices({ "csv", "jsonl" })
local parsed, args = parser:pparse()
if not parsed then  -- usage errors exit 2, as cdp-onboard's do
  io.stderr:write(parser:get_usage(), "\n\nError: ", tostring(args), "\n")
  os.exit(2)
end

local COLUMNS = { "Customer ID", "Full Name", "Date of Birth", "Gender", "Nationality", "Country of Birth",
  "Mobile", "Email", "Emirates ID", "ID Issue Date", "ID Expiry Date", "Front Image", "Back Image", "Selfie",
  "Building", "Street", "City", "Emirate", "PEP" }

-- Park-Miller minimal standard generator: products stay below 2^53, so Lua
-- 5.4's integers and LuaJIT's doubles give the same sequence.
local state = args.seed % 2147483646 + 1
local function next_state()
  state = state * 48271 % 2147483647
  return state
end
for _ = 1, 8 do next_state() end

--- A whole number from 1 to n.
local function random(n)
  return math.floor(next_state() / 2147483647 * n) + 1
end

local function pick(list)
  return list[random(#list)]
end

local function digits(n)
  local out = {}
  for i = 1, n do out[i] = tostring(random(10) - 1) end
  return table.concat(out)
end

-- Names by nationality; `as` is how the export spells the nationality
-- (mostly names, sometimes ISO alpha-3 or alpha-2 codes, as exports do).
local PEOPLE = {
  { as = { "Pakistan", "Pakistan", "PAK" }, male = { "Zafar", "Imran", "Bilal", "Usman", "Hamza", "Asad" },
    female = { "Ayesha", "Fatima", "Sana", "Hira" }, last = { "Masih", "Khan", "Qureshi", "Butt", "Malik" } },
  { as = { "India", "India", "IND", "IN" }, male = { "Irfan", "Rahul", "Arjun", "Vikram", "Suresh", "Anil" },
    female = { "Priya", "Anjali", "Deepa", "Lakshmi", "Kavya" },
    last = { "Nair", "Sharma", "Menon", "Patel", "Iyer", "Reddy", "Thekke" } },
  { as = { "Philippines", "PHL" }, male = { "José", "Mark", "Paolo", "Niño" },
    female = { "Maria", "Clarisse", "Joy", "Rosalie" }, last = { "Santos", "Reyes", "Cruz", "Bautista", "Garcia" } },
  { as = { "Bangladesh", "BGD" }, male = { "Abdur", "Rafiq", "Kamal" }, female = { "Nusrat", "Tahmina" },
    last = { "Rahman", "Hossain", "Islam", "Akter" } },
  { as = { "Egypt", "EGY" }, male = { "Ahmed", "Mohamed", "Mostafa" }, female = { "Nour", "Yasmin", "Mariam" },
    last = { "Hassan", "Ali", "Ibrahim", "Mahmoud" } },
  { as = { "Sri Lanka", "LKA" }, male = { "Nimal", "Kasun" }, female = { "Dilani", "Chamari" },
    last = { "Perera", "Fernando", "Silva", "Jayasinghe" } },
  { as = { "Nepal" }, male = { "Ram", "Bikash" }, female = { "Sita", "Anita" },
    last = { "Shrestha", "Gurung", "Thapa", "Tamang" } },
  { as = { "United Kingdom", "GBR" }, male = { "John", "James", "Oliver" }, female = { "Emma", "Olivia", "Chloë" },
    last = { "Carter", "Smith", "Taylor", "Brown", "O'Neill" } },
  { as = { "Malaysia", "MY" }, male = { "Ahmad", "Hafiz" }, female = { "Siti", "Nurul" },
    last = { "Abdullah", "Ismail", "Nurhaliza" } },
  { as = { "Jordan", "Lebanon", "Syria" }, male = { "Omar", "Khalid", "Tariq" }, female = { "Lina", "Rania" },
    last = { "Haddad", "Khoury", "Nasser", "Al Farsi" } },
  { as = { "Indonesia" }, male = { "Budi", "Agus" }, female = { "Dewi", "Putri" },
    last = { "Santoso", "Wijaya", "Hidayat" } },
  { as = { "Nigeria", "Kenya" }, male = { "Chinedu", "Tunde", "Brian" }, female = { "Ngozi", "Aisha", "Faith" },
    last = { "Okafor", "Adeyemi", "Bello", "Otieno" } },
}

local PLACES = {
  { "Dubai", "Dubai" }, { "Dubai", "Dubai" }, { "Abu Dhabi", "Abu Dhabi" }, { "Al Ain", "Abu Dhabi" },
  { "Sharjah", "Sharjah" }, { "Ajman", "Ajman" }, { "Ras Al Khaimah", "Ras Al Khaimah" },
  { "Fujairah", "Fujairah" }, { "Umm Al Quwain", "Umm Al Quwain" },
}
local BUILDINGS = { "Marina Heights", "Al Nahda Tower", "Palm Residence", "Creek Tower", "Lotus Court",
  "Sky Gardens", "Corniche Plaza", "Mankhool Building", "ABC House", "Nile Building" }
local STREETS = { "Sheikh Zayed Road", "Al Wasl Road", "Electra Street", "Hamdan Street", "Corniche Road",
  "Airport Road", "Khalifa Street", "Al Khan Road", "Jumeirah Road", "Baniyas Road", "Street 5" }
local MOBILE_PREFIXES = { "50", "52", "54", "55", "56", "58" }
local PEP = { "false", "false", "false", "false", "FALSE", "0", "false", "false", "false", "false" }

local function days_in(month, year)
  if month == 2 then
    return (year % 4 == 0 and (year % 100 ~= 0 or year % 400 == 0)) and 29 or 28
  end
  return ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[month]
end

local function dmy(d, m, y) return ("%02d/%02d/%04d"):format(d, m, y) end

-- A date from first_year to last_year (inclusive) as day, month, year.
local function random_date(first_year, last_year)
  local y = first_year + random(last_year - first_year + 1) - 1
  local m = random(12)
  return random(days_in(m, y)), m, y
end

-- Luhn check digit of a digit string.
local function luhn(s)
  local sum, double = 0, true
  for i = #s, 1, -1 do
    local d = tonumber(s:sub(i, i))
    if double then d = d * 2; if d > 9 then d = d - 9 end end
    sum = sum + d
    double = not double
  end
  return tostring((10 - sum % 10) % 10)
end

local function mobile()
  local p, a, b = pick(MOBILE_PREFIXES), digits(3), digits(4)
  local style = random(6)
  if style == 1 then return ("0%s %s %s"):format(p, a, b)
  elseif style == 2 then return ("0%s%s%s"):format(p, a, b)
  elseif style == 3 then return ("+971 %s %s %s"):format(p, a, b)
  elseif style == 4 then return ("00971 %s %s %s"):format(p, a, b)
  elseif style == 5 then return ("0%s-%s-%s"):format(p, a, b)
  end
  return ("+971%s%s%s"):format(p, a, b)
end

local function building()
  local style = random(10)
  if style == 1 then return ("Villa %d, Block %s"):format(random(80), pick({ "A", "B", "C", "D" })) end
  if style == 2 then return ("Flat %d, %s"):format(100 + random(1400), pick(BUILDINGS)) end
  if style == 3 then return ('The "%s" Residence'):format(pick({ "Pearl", "Falcon", "Oasis" })) end
  return pick(BUILDINGS)
end

local function ascii_lower(s)
  return (s:lower():gsub("[^%w]", ""))
end

local used_ids = {}

local function record(i)
  local people = pick(PEOPLE)
  local female = random(2) == 1
  local first = pick(female and people.female or people.male)
  local words = { first }
  if random(10) <= 4 then  -- a father's name
    local father = pick(people.male)
    if father ~= first then words[#words + 1] = father end
  end
  local last = pick(people.last)
  words[#words + 1] = last
  local bd, bm, by = random_date(1955, 2004)
  local id
  repeat
    local body = "784" .. ("%04d"):format(by) .. digits(7)
    id = body .. luhn(body)
  until not used_ids[id]
  used_ids[id] = true
  local id_d, id_m, id_y = random_date(2022, 2025)
  -- Valid ten years, to the day before the anniversary: fixed dates (the
  -- output depends on the seed alone) that stay unexpired until 2032.
  local ex_d, ex_m, ex_y = id_d - 1, id_m, id_y + 10
  if ex_m == 2 and ex_d > days_in(2, ex_y) then ex_d = days_in(2, ex_y) end
  if ex_d == 0 then
    ex_m = ex_m - 1
    if ex_m == 0 then ex_m, ex_y = 12, ex_y - 1 end
    ex_d = days_in(ex_m, ex_y)
  end
  local nationality = pick(people.as)
  local key = ("C-%06d"):format(i)
  local place = pick(PLACES)
  return {
    ["Customer ID"] = key,
    ["Full Name"] = table.concat(words, " "),
    ["Date of Birth"] = dmy(bd, bm, by),
    ["Gender"] = female and "Female" or "Male",
    ["Nationality"] = nationality,
    ["Country of Birth"] = random(10) == 1 and "United Arab Emirates"
      or (#nationality > 3 and nationality or people.as[1]),
    ["Mobile"] = mobile(),
    ["Email"] = ("%s.%s.%d@example.com"):format(ascii_lower(first), ascii_lower(last), i),
    ["Emirates ID"] = id,
    ["ID Issue Date"] = dmy(id_d, id_m, id_y),
    ["ID Expiry Date"] = dmy(ex_d, ex_m, ex_y),
    ["Front Image"] = key .. "-front.jpg",
    ["Back Image"] = key .. "-back.jpg",
    ["Selfie"] = key .. "-face.jpg",
    ["Building"] = building(),
    ["Street"] = pick(STREETS),
    ["City"] = place[1],
    ["Emirate"] = place[2],
    ["PEP"] = random(50) == 1 and "true" or pick(PEP),
  }
end

local function csv_field(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function json_string(v)
  return '"' .. v:gsub('[%c"\\]', function(c)
    return ({ ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" })[c]
      or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(command)
  local ok, how, code = os.execute(command)
  if ok == true or ok == 0 then return end
  io.stderr:write("generate.lua: failed (", tostring(how), " ", tostring(code or ok), "): ", command, "\n")
  os.exit(1)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

local function write_file(path, data)
  local f, err = io.open(path, "wb")
  if not f then
    io.stderr:write("generate.lua: ", tostring(err), "\n")
    os.exit(1)
  end
  f:write(data)
  f:close()
end

-- A P6 PPM: an ID card (background, a photo box, lines of "text") or a face
-- (a disc on a plain background), in colours picked by `variant`.
local function ppm(kind, variant)
  local w, h = 120, 76
  if kind == "face" then w, h = 64, 64 end
  local hue = { { 200, 225, 240 }, { 230, 215, 180 }, { 205, 235, 205 }, { 240, 205, 215 },
    { 220, 220, 245 }, { 245, 235, 200 }, { 210, 240, 240 }, { 235, 225, 235 } }
  local bg = hue[(variant - 1) % #hue + 1]
  local ink = { 40 + variant * 9, 50, 90 - variant * 5 }
  local rows = {}
  for y = 0, h - 1 do
    local row = {}
    for x = 0, w - 1 do
      local c = bg
      if kind == "face" then
        local dx, dy = x - 32, y - 28
        if dx * dx + dy * dy < 14 * 14 then c = { 190 - variant * 6, 150, 120 + variant * 4 }
        elseif y > 46 and math.abs(x - 32) < 22 then c = ink end
      elseif kind == "front" and x >= 8 and x < 38 and y >= 16 and y < 56 then
        c = { 150, 140 + variant * 8, 130 }
      elseif (kind == "front" and x >= 46 or kind == "back" and x >= 8) and x < w - 8
        and y >= 18 and y % 10 < 3 and y < h - 10 and (x + variant * 7) % 23 < 19 then
        c = ink
      elseif kind == "back" and y >= h - 8 and y < h - 4 and x >= 8 and x < w - 8 and (x * variant) % 5 < 3 then
        c = { 20, 20, 20 }
      end
      row[#row + 1] = string.char(c[1], c[2], c[3])
    end
    rows[#rows + 1] = table.concat(row)
  end
  return ("P6\n%d %d\n255\n"):format(w, h) .. table.concat(rows)
end

-- `jpeg` with a comment segment (COM) naming the record inserted after the
-- JFIF header: the same picture, a distinct file.
local function with_comment(jpeg, text)
  local at = 3
  if jpeg:byte(3) == 0xFF and jpeg:byte(4) == 0xE0 then at = 5 + jpeg:byte(5) * 256 + jpeg:byte(6) end
  local n = #text + 2
  return jpeg:sub(1, at - 1) .. "\255\254" .. string.char(math.floor(n / 256), n % 256) .. text .. jpeg:sub(at)
end

local out = args.out:gsub("/+$", "")
if out == "" then out = "/" end
run("mkdir -p " .. shell_quote(out .. "/images"))

-- The handful of base pictures, through cjpeg once each.
local VARIANTS = 6
local IMAGES = { { "front", "Front Image" }, { "back", "Back Image" }, { "face", "Selfie" } }
local base = {}
local tmp = os.tmpname()
for _, image in ipairs(IMAGES) do
  local kind, list = image[1], {}
  base[kind] = list
  for v = 1, VARIANTS do
    write_file(tmp, ppm(kind, v))
    run(("cjpeg -quality 60 -optimize -outfile %s %s"):format(shell_quote(tmp .. ".jpg"), shell_quote(tmp)))
    list[v] = read_file(tmp .. ".jpg")
  end
end
os.remove(tmp)
os.remove(tmp .. ".jpg")

local ext = args.format == "jsonl" and "jsonl" or "csv"
local records_path = out .. "/records." .. ext
local f = assert(io.open(records_path, "wb"))
if ext == "csv" then f:write(table.concat(COLUMNS, ","), "\n") end
local image_bytes = 0
for i = 1, args.count do
  local r = record(i)
  local cells = {}
  for c, name in ipairs(COLUMNS) do
    cells[c] = ext == "csv" and csv_field(r[name]) or (json_string(name) .. ": " .. json_string(r[name]))
  end
  if ext == "csv" then f:write(table.concat(cells, ","), "\n")
  else f:write("{", table.concat(cells, ", "), "}\n") end
  for _, image in ipairs(IMAGES) do
    local kind, column = image[1], image[2]
    local jpeg = with_comment(base[kind][random(VARIANTS)],
      ("cdp examples/generate.lua seed %d: %s %s"):format(args.seed, r["Customer ID"], kind))
    write_file(out .. "/images/" .. r[column], jpeg)
    image_bytes = image_bytes + #jpeg
  end
end
f:close()

-- The example mapping, unchanged, next to the records (see the top).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
write_file(out .. "/ekyc-mapping.lua", read_file(here .. "/ekyc-mapping.lua"))

io.stdout:write(("%d records in %s, %d images (%.1f MB) in %s/images\n")
  :format(args.count, records_path, args.count * 3, image_bytes / 1048576, out))
io.stdout:write(("try: cdp-onboard check %s/ekyc-mapping.lua %s\n"):format(out, records_path))
