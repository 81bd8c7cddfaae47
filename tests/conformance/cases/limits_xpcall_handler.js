// The JavaScript analogue of an xpcall handler that loops: a catch block that loops after a
// stop; the stop ends it too.
try {
  for (;;) {}
} catch (e) {
  for (;;) {}
}
print("escaped");
