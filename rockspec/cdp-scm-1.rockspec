-- Install from a checkout, offline: luarocks make rockspec/cdp-scm-1.rockspec --deps-mode=none
-- (add --lua-version 5.1 for LuaJIT/OpenResty). Debian packages it needs: see `make deps`.
rockspec_format = "3.0"
package = "cdp"
version = "scm-1"
source = { url = "git+file:///dev/null" } -- built from a checkout with `luarocks make`
description = {
  summary = "Lua SDK for the CDP Partner Onboarding Service, with a C core",
  detailed = [[
Enrol customers on the Customer Data Platform: a libcurl client with a
process-wide token cache and streamed documents, customers as validated Lua
tables, mapping helpers, an OpenResty entry point, a CLI and a local sandbox.]],
  license = "Proprietary",
}
dependencies = { "lua >= 5.1" } -- lua-cjson and lua-argparse come from Debian (make deps)
build = {
  type = "builtin",
  modules = {
    -- C core: every src/*.c (`make rockspec` rewrites this list; spec/rockspec_spec.lua checks it)
    ["cdp.core"] = {
      sources = {
        -- sources:begin
        "src/b64.c",
        "src/body.c",
        "src/core.c",
        "src/csv.c",
        "src/digest.c",
        "src/doctype.c",
        "src/http.c",
        "src/jsonflat.c",
        "src/lbatch.c",
        "src/lclient.c",
        "src/ljson.c",
        "src/lopts.c",
        "src/ngxshare.c",
        "src/secret.c",
        "src/sys.c",
        "src/token.c",
        -- sources:end
      },
      defines = { "_POSIX_C_SOURCE=200809L", "_DEFAULT_SOURCE" },
      -- libcurl4-openssl-dev and libssl-dev put their headers on Debian's multiarch
      -- include path, which luarocks' external_dependencies lookup does not search.
      libraries = { "curl", "crypto", "pthread" },
    },
    -- Lua modules: every lua/**/*.lua (`make rockspec` rewrites this list)
    -- modules:begin
    ["cdp.batch"] = "lua/cdp/batch.lua",
    ["cdp.cli.bytecode"] = "lua/cdp/cli/bytecode.lua",
    ["cdp.cli.check"] = "lua/cdp/cli/check.lua",
    ["cdp.cli.common"] = "lua/cdp/cli/common.lua",
    ["cdp.cli.get"] = "lua/cdp/cli/get.lua",
    ["cdp.cli"] = "lua/cdp/cli/init.lua",
    ["cdp.cli.lookup"] = "lua/cdp/cli/lookup.lua",
    ["cdp.cli.progress"] = "lua/cdp/cli/progress.lua",
    ["cdp.cli.records"] = "lua/cdp/cli/records.lua",
    ["cdp.cli.render"] = "lua/cdp/cli/render.lua",
    ["cdp.cli.sandbox"] = "lua/cdp/cli/sandbox.lua",
    ["cdp.cli.submit"] = "lua/cdp/cli/submit.lua",
    ["cdp.cli.token"] = "lua/cdp/cli/token.lua",
    ["cdp.client"] = "lua/cdp/client.lua",
    ["cdp.config"] = "lua/cdp/config.lua",
    ["cdp.customer"] = "lua/cdp/customer.lua",
    ["cdp.document"] = "lua/cdp/document.lua",
    ["cdp.errors"] = "lua/cdp/errors.lua",
    ["cdp"] = "lua/cdp/init.lua",
    ["cdp.iso"] = "lua/cdp/iso.lua",
    ["cdp.journal"] = "lua/cdp/journal.lua",
    ["cdp.json"] = "lua/cdp/json.lua",
    ["cdp.mapping"] = "lua/cdp/mapping.lua",
    ["cdp.ngx"] = "lua/cdp/ngx.lua",
    ["cdp.ngx.callback"] = "lua/cdp/ngx/callback.lua",
    ["cdp.ngx.options"] = "lua/cdp/ngx/options.lua",
    ["cdp.ngx.plain"] = "lua/cdp/ngx/plain.lua",
    ["cdp.ngx.thread"] = "lua/cdp/ngx/thread.lua",
    ["cdp.ngx.tokens"] = "lua/cdp/ngx/tokens.lua",
    ["cdp.phone"] = "lua/cdp/phone.lua",
    ["cdp.records"] = "lua/cdp/records.lua",
    ["cdp.report"] = "lua/cdp/report.lua",
    ["cdp.sandbox.app.admin"] = "lua/cdp/sandbox/app/admin.lua",
    ["cdp.sandbox.app.callback"] = "lua/cdp/sandbox/app/callback.lua",
    ["cdp.sandbox.app.counters"] = "lua/cdp/sandbox/app/counters.lua",
    ["cdp.sandbox.app.customers"] = "lua/cdp/sandbox/app/customers.lua",
    ["cdp.sandbox.app.digest"] = "lua/cdp/sandbox/app/digest.lua",
    ["cdp.sandbox.app.faults"] = "lua/cdp/sandbox/app/faults.lua",
    ["cdp.sandbox.app"] = "lua/cdp/sandbox/app/init.lua",
    ["cdp.sandbox.app.json"] = "lua/cdp/sandbox/app/json.lua",
    ["cdp.sandbox.app.masterdata"] = "lua/cdp/sandbox/app/masterdata.lua",
    ["cdp.sandbox.app.respond"] = "lua/cdp/sandbox/app/respond.lua",
    ["cdp.sandbox.app.settings"] = "lua/cdp/sandbox/app/settings.lua",
    ["cdp.sandbox.app.store"] = "lua/cdp/sandbox/app/store.lua",
    ["cdp.sandbox.app.tokens"] = "lua/cdp/sandbox/app/tokens.lua",
    ["cdp.sandbox.app.triggers"] = "lua/cdp/sandbox/app/triggers.lua",
    ["cdp.sandbox.app.validate"] = "lua/cdp/sandbox/app/validate.lua",
    ["cdp.sandbox.app.watchdog"] = "lua/cdp/sandbox/app/watchdog.lua",
    ["cdp.sandbox.certs"] = "lua/cdp/sandbox/certs.lua",
    ["cdp.sandbox.conf"] = "lua/cdp/sandbox/conf.lua",
    ["cdp.sandbox.fs"] = "lua/cdp/sandbox/fs.lua",
    ["cdp.sandbox"] = "lua/cdp/sandbox/init.lua",
    ["cdp.schema"] = "lua/cdp/schema.lua",
    ["cdp.validate"] = "lua/cdp/validate.lua",
    -- modules:end
  },
  copy_directories = {},
  install = {
    lua = {},
    bin = { ["cdp-onboard"] = "bin/cdp-onboard" },
  },
}
