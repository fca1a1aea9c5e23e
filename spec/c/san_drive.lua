-- luacheck: no max line length
--- Drive the C core through its paths (streamed onboarding from files and
-- memory, a reset after sending, faults, TLS, auth, connect failures, misuse,
-- close) in a child process run under a sanitizer or valgrind, against a
-- sandbox started here (the sandbox's nginx and curl must not inherit the
-- preload). Prints the child's output: any sanitizer or valgrind report shows.
--
-- ASan + UBSan, with the module built into /tmp/san (a separate dir, so the
-- normal build stays as it is):
--   mkdir -p /tmp/san/cdp && for f in src/*.c; do cc -std=c99 -Wall -Wextra -Wshadow -Werror -O1 -g \
--     -fsanitize=address,undefined -fno-omit-frame-pointer -fPIC -D_POSIX_C_SOURCE=200809L \
--     -D_DEFAULT_SOURCE -I/usr/include/lua5.4 -c $f -o /tmp/san/$(basename $f .c).o; done && \
--   cc -fsanitize=address,undefined -shared -o /tmp/san/cdp/core.so /tmp/san/*.o -lcurl -lcrypto -lpthread
--   SAN_PRELOAD="/usr/lib/x86_64-linux-gnu/libasan.so.8 /usr/lib/x86_64-linux-gnu/libubsan.so.1" \
--   SAN_CPATH="/tmp/san/?.so;;" lua5.4 spec/c/san_drive.lua
-- valgrind (the normal build):
--   SAN_WRAP="PATH=/usr/bin:/bin valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect" \
--   lua5.4 spec/c/san_drive.lua
package.path = "spec/?.lua;" .. package.path
local sandbox = require "helpers.sandbox"
local sb = sandbox.start{}
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local CHILD = [==[
local cdp = require "cdp"
local c = cdp.client{ backoff = 0.01 }
local function hand(id)
  local docs = { cdp.file("examples/images/id-front.jpg"), cdp.file("examples/images/id-back.jpg"), cdp.bytes(io.open("examples/images/face.jpg","rb"):read("a")) }
  local parts = { '{"channel":"WEB","first_name":"A","last_name":"B","nationality":"IN","date_of_birth":"1995-07-28","country_of_birth":"IN","country_of_residence":"AE","gender":"Male","primary_mobile_number":"+971502106707","email_id":"a@b.com","resident_type_id":101,"address_list":[{"address_type_id":"1","city":"Dubai","country":"AE"}],"id_details":[{"id_type":4,"id_number":"' .. id .. '","id_front":{"base64_data":"', docs[1], '","content_type":"image/jpeg"},"id_back":{"base64_data":"', docs[2], '","content_type":"image/jpeg"}}],"customer_classification":{"profile_photo":{"base64_data":"', docs[3], '","content_type":"image/jpeg"}}}' }
  return setmetatable({ data = { id_details = { { id_type = 4, id_number = id } } }, parts = function() return parts end }, {})
end
for i = 1, 30 do assert(select(2, c:lookup(4, "78419955458" .. (6000 + i))).code == 45001) end
print("onboard", c:onboard(hand("784199554586001")))
print("onboard fault1", c:onboard(hand("784199554586002")))
print("onboard fault2", c:onboard(hand("784199554586003")))
print("lookup fault", c:lookup(4, "784199554586091"))
print("45013", c:onboard(hand("784000000045013")))
print("tls", cdp.client{ ca_file = "/etc/ssl/certs/ca-certificates.crt" }:lookup(4, "1"))
print("badpw", cdp.client{ password = "x" }:lookup(4, "1"))
print("dead", cdp.client{ base_url = "https://127.0.0.1:1", retries = 1, backoff = 0.01 }:lookup(4, "1"))
print("missing", c:onboard(setmetatable({ data = {}, parts = function() return { "{", cdp.file("/nonexistent"), "}" } end }, {})))
print(pcall(c.request, c))
local raw = c._core
print(pcall(raw.request, raw, "PUT", "x"))
print(pcall(raw.request, raw, "POST", nil, { 1 }))
c:close()
print(pcall(c.lookup, c, 4, "1"))
collectgarbage() collectgarbage()
print("done")
]==]
sb:fault{ path = "/caas-lcm/api/v1/CAAS/onBoarding/customer", kind = "reset", when = "after", count = 1 }
local env = {}
for k, v in pairs(sb.env) do env[#env+1] = q(k .. "=" .. v) end
local pre = os.getenv("SAN_PRELOAD") or ""
env[#env+1] = q("LD_PRELOAD=" .. pre)
env[#env+1] = q("ASAN_OPTIONS=detect_leaks=1")
env[#env+1] = q("UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
env[#env+1] = q("LUA_PATH=" .. os.getenv("LUA_PATH"))
env[#env+1] = q("LUA_CPATH=" .. (os.getenv("SAN_CPATH") or os.getenv("LUA_CPATH")))
local wrap = os.getenv("SAN_WRAP") or ""
local p = io.popen("env -i " .. table.concat(env, " ") .. " " .. wrap .. " lua5.4 -e " .. q(CHILD) .. " 2>&1")
print(p:read("a")); p:close()
print(require("cjson").encode(sb:counters().customers))
sb:stop()
