// The harmless clock and date functions stay: the time now (twice) and a formatted date.
print(typeof Date.now(), typeof time.now(), typeof new Date().toISOString());
