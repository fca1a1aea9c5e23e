std = "max"
max_line_length = 120
codes = true
exclude_files = { "build/**" }
files["spec/**"] = { std = "+busted" }
files["lua/cdp/sandbox/app/**"] = { std = "+ngx_lua" }
files["lua/cdp/ngx/**"] = { read_globals = { "ngx" } }
files["lua/cdp/ngx.lua"] = { read_globals = { "ngx" } }
files["examples/openresty/**"] = { read_globals = { "ngx" } }
