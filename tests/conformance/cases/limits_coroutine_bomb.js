// The JavaScript analogue of a coroutine bomb: suspended generators, each holding its frame.
const gens = [];
for (;;) {
  const g = (function* () { yield gens.length; })();
  g.next();
  gens.push(g);
}
