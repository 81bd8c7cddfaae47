await sleep(30);
print("unreachable");
