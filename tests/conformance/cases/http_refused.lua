-- http.request and http.post without an --allow-net grant are refused before anything is sent.
local ok, e = pcall(http.post, "http://127.0.0.1:9/", {a = 1})
print(ok, e.code)
ok, e = pcall(http.request, {url = "http://127.0.0.1:9/", method = "PUT", body = "x"})
print(ok, e.code)
