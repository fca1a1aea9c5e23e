local cdp = require "cdp"
local document = require "cdp.document"

local images = "examples/images/"

describe("cdp.file", function()
  it("sniffs JPEG from magic bytes and digests the file", function()
    local d = cdp.file(images .. "id-front.jpg")
    assert.is_true(d:check())
    assert.equal("image/jpeg", d.content_type)
    local hex, size = d:digest()
    assert.matches("^%x+$", hex)
    assert.equal(64, #hex)
    local f = assert(io.open(images .. "id-front.jpg", "rb"))
    local data = f:read("a")
    f:close()
    assert.equal(#data, size)
    assert.equal(require("cdp.core").sha256(data), hex)
  end)

  it("reports a missing file without raising", function()
    local d = cdp.file("no/such/file.jpg")
    local ok, msg = d:check()
    assert.is_nil(ok)
    assert.matches("cannot read", msg)
  end)

  it("refuses an unknown content type unless one is given", function()
    local d = cdp.bytes("plain text")
    local ok, msg = d:check()
    assert.is_nil(ok)
    assert.matches("unknown content type", msg)
    assert.matches("not one the CDP takes", select(2, cdp.bytes("x", "text/plain"):check()))
  end)

  it("raises on misuse", function()
    assert.has_error(function() cdp.file(42) end)
    assert.has_error(function() cdp.bytes({}) end)
  end)

  it("never shows its bytes", function()
    local secret = "\255\216\255SECRET-BYTES"
    local d = cdp.bytes(secret)
    assert.equal("image/jpeg", d.content_type)
    assert.is_nil(tostring(d):find("SECRET", 1, true))
    assert.is_true(document.is(d))
  end)
end)

describe("cdp.errors", function()
  it("names codes and prints without secrets it was not given", function()
    local e = cdp.errors.new { kind = "business", code = 45001, message = "Customer not found", request_id = "r1" }
    assert.equal("CUSTOMER_NOT_FOUND", e.name)
    assert.equal(false, e.retryable)
    assert.equal("cdp: business error 45001 CUSTOMER_NOT_FOUND: Customer not found [request_id r1]", tostring(e))
    assert.equal(45051, cdp.errors.by_name.CUSTOMER_BLOCKED)
    assert.has_error(function() cdp.errors.new { kind = "nope", message = "x" } end)
  end)
end)
