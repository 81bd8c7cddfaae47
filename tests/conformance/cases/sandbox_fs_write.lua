local ok, e = pcall(fs.write, "/tmp/llmspell-sandbox-test.txt", "x")
print(ok, e.code)
