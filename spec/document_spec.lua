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

  it("refuses a FIFO or a directory at once instead of waiting on it", function()
    local core = require "cdp.core"
    local fifo = os.tmpname()
    os.remove(fifo)
    local rc = os.execute("mkfifo " .. fifo)
    assert.is_true(rc == true or rc == 0, "mkfifo")
    local ok, err = cdp.file(fifo):check()
    local hex, derr = core.sha256_file(fifo)
    os.remove(fifo)
    assert.is_nil(ok)
    assert.matches("cannot read .*Invalid argument", err)
    assert.is_nil(hex)
    assert.matches("Invalid argument", derr)
    ok, err = cdp.file("examples/images"):check()
    assert.is_nil(ok)
    assert.matches("Is a directory", err)
  end)

  it("refuses an unknown content type unless one is given", function()
    local d = cdp.bytes("plain text")
    local ok, msg = d:check()
    assert.is_nil(ok)
    assert.matches("unknown content type", msg)
    assert.matches("not one the CDP takes", select(2, cdp.bytes("x", "text/plain"):check()))
  end)

  it("tells JPEG, PNG and PDF from their first bytes, as the C core does", function()
    assert.equal("image/jpeg", document.sniff("\255\216\255\224rest"))
    assert.equal("image/png", document.sniff("\137PNG\r\n\26\n"))
    assert.equal("application/pdf", document.sniff("%PDF-1.7"))
    assert.is_nil(document.sniff("\137PNG\r\n\26"))  -- a signature cut short
    assert.is_nil(document.sniff("GIF89a"))
    assert.is_nil(document.sniff(""))
    assert.equal("image/png", cdp.bytes("\137PNG\r\n\26\n...").content_type)
  end)

  it("leaves a file opened only when sent unread: its check looks at nothing on disk", function()
    local d = document._opened_when_sent("no/such/file.jpg")
    assert.is_true(d:check())
    assert.is_nil(d.content_type)
    assert.equal("file", d.kind)
    assert.is_true(document.is(d))
    -- Once sent it has the type the C core found; a type the CDP does not
    -- take is still refused.
    d.content_type = "text/plain"
    assert.matches("not one the CDP takes", select(2, d:check()))
    assert.has_error(function() document._opened_when_sent("") end)
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
