// http.request and http.post without an --allow-net grant are refused before anything is sent.
for (const f of [() => http.post("http://127.0.0.1:9/", {a: 1}),
                 () => http.request({url: "http://127.0.0.1:9/", method: "PUT", body: "x"})]) {
  try { await f(); print(true); } catch (e) { print(false, e.code); }
}
