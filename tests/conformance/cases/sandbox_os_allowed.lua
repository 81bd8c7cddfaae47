print(type(os.time()), type(os.clock()), type(os.date("%Y")))
