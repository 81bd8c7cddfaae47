return "ok"
