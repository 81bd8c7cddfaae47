-- test.only: the file's other tests are reported skipped.
test.it("a", function() error("must not run") end)
test.only("b", function() test.expect(1).to_be(1) end)
local report = test.run()
for _, t in ipairs(report.tests) do print(t.name .. ": " .. t.status) end
