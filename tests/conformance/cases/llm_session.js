// llm.session: history, trimming to the context window (estimated tokens for mock models),
// streaming, queued sends, failures that leave the history as it was, save / load.
const failure = async (f) => {
  try {
    await f();
    return [true, "nil"];
  } catch (e) {
    return [false, e.code];
  }
};
const s = llm.session({model: "mock/echo", system: "You are terse.", context_window: 60, reserve: 10});
print((await s.send("first message here")).text);
let h = s.history();
print(h.length, h[0].role, h[1].role, h[2].role, h[2].content);
await s.send("second");
await s.send("third");
h = s.history();
// The first turn was dropped to fit; the system message stayed.
print(h.length, h[0].role, h[1].content, s.trimmed());

// A message that cannot fit even alone fails and changes nothing.
print(...await failure(() => s.send("word ".repeat(100))), s.history().length);

// Streaming a turn.
const chunks = [];
const r = await s.stream("alpha beta gamma", (c) => { chunks.push(c.text); });
print(chunks.length, chunks.join(""), r.text);

// Sends made at once are answered in order.
const s2 = llm.session({model: "mock/echo"});
const p1 = s2.send("one");
const p2 = s2.send("two");
print((await p1).text, (await p2).text);
print(s2.history().map((m) => `${m.role}=${m.content}`).join(" "));

// Save and load (the state store).
print((await s2.save("llm_session_case")) >= 1);
const s3 = await llm.sessionLoad("llm_session_case");
print(s3.history().length, s3.history()[3].content);
await s3.send("three");
print(s3.history().length, s2.history().length);
print(...await failure(() => llm.sessionLoad("llm_session_case_missing")));

// clear keeps the system message.
s.clear();
print(s.history().length, s.history()[0].content);

// A failed call rolls the turn back so it can be retried.
llm.configure("mock", {replies: [{error: {code: "rate_limited", message: "slow down"}}, "retried fine"]});
const s4 = llm.session({model: "mock/script"});
print(...await failure(() => s4.send("hi")), s4.history().length);
print((await s4.send("hi")).text, s4.history().length);

print(...await failure(() => llm.session({context_window: "big"})));
