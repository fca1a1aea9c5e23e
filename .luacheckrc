std = "max"
max_line_length = 120
codes = true
exclude_files = { "build/**" }
files["spec/**"] = { std = "+busted" }
files["lua/cdp/sandbox/app/**"] = { std = "+ngx_lua" }
files["lua/cdp/ngx/**"] = { std = "+ngx_lua" }
files["lua/cdp/ngx.lua"] = { std = "+ngx_lua" }
files["examples/openresty/**"] = { std = "+ngx_lua" }
files["spec/openresty_app.lua"] = { std = "+ngx_lua" }  -- runs inside nginx
