-- Tools that declare a permission are refused without the matching grant.
local function try(name, args)
  local r = tools.try_call(name, args)
  print(name, r.ok, r.error and r.error.code, r.error and r.error.message)
end
try("file_read", {path = "/etc/hostname"})
try("file_write", {path = "out.txt", content = "x"})
try("file_list", {path = "."})
try("shell", {command = {"echo", "hi"}})
try("http_request", {url = "http://127.0.0.1:9/"})
try("web_fetch", {url = "http://127.0.0.1:9/"})
