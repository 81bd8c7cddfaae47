local acc = 0
for i = 1, 10 do
  acc = acc + i * i
end
while true do
  acc = acc + 1
end
