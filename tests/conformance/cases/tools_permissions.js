// Tools that declare a permission are refused without the matching grant.
const attempt = async (name, args) => {
  const r = await tools.tryCall(name, args);
  print(name, r.ok, r.error?.code ?? "nil", r.error?.message ?? "nil");
};
await attempt("file_read", {path: "/etc/hostname"});
await attempt("file_write", {path: "out.txt", content: "x"});
await attempt("file_list", {path: "."});
await attempt("shell", {command: ["echo", "hi"]});
await attempt("http_request", {url: "http://127.0.0.1:9/"});
await attempt("web_fetch", {url: "http://127.0.0.1:9/"});
