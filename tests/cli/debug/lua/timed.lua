local x = 41
return x + 1
