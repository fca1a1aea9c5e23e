--- A local CA and a server certificate for 127.0.0.1 and localhost, made once
-- per sandbox directory with the openssl command (EC P-256: fast to make).
local fs = require "cdp.sandbox.fs"

local certs = {}

local EXT = [[
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
]]

--- Paths of the CA certificate, server certificate and server key in `dir`.
function certs.paths(dir)
  return { ca = dir .. "/ca.pem", cert = dir .. "/server.pem", key = dir .. "/server.key" }
end

--- Make the CA and server certificate unless `dir` has them; nil, err on failure.
function certs.ensure(dir)
  local p = certs.paths(dir)
  if fs.exists(p.ca) and fs.exists(p.cert) and fs.exists(p.key) then return p end
  local q = fs.quote
  local ca_key, csr, ext = dir .. "/ca.key", dir .. "/server.csr", dir .. "/server.ext"
  assert(fs.write(ext, EXT))
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local steps = {
    ("openssl req -x509 %s -keyout %s -out %s -days 3650 -subj '/CN=cdp sandbox CA' "
      .. "-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'")
      :format(ec, q(ca_key), q(p.ca)),
    ("openssl req %s -keyout %s -out %s -subj '/CN=localhost'"):format(ec, q(p.key), q(csr)),
    ("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 825 -extfile %s")
      :format(q(csr), q(p.ca), q(ca_key), q(p.cert), q(ext)),
  }
  for _, cmd in ipairs(steps) do
    if not fs.run(cmd .. " >/dev/null 2>&1") then
      return nil, "openssl failed: " .. cmd
    end
  end
  fs.run("chmod 600 " .. q(ca_key) .. " " .. q(p.key))
  os.remove(csr)
  return p
end

return certs
