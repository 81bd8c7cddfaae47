// log.* and logger methods: levels, fields, child loggers, redaction (lines go to stderr).
print(log.level());
log.debug("hidden");
log.info("hello", {a: 1, b: "two words"});
log.warn("careful");
log.error(42);
print(log.level("debug"));
log.debug("shown", {k: true});
const l = log.with({run: 7});
l.info("child", {x: 1});
l.debug("dbg");
l.warn("w");
l.error("e");
const l2 = l.with({step: "s"});
l2.info("grandchild");
log.info("secret", {api_key: "sk-abcdef1234567890abcdef"});
print(log.level("off"));
log.error("nothing");
