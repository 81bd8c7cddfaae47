local ok, e = pcall(http.get, "http://127.0.0.1:9/")
print(ok, e.code)
