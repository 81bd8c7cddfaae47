// Namespace functions by their camelCase names, option fields and result fields in snake_case.
const r = await llm.chat('Say hello', { max_tokens: 20, timeout: 5 });
const reason = r.finish_reason;
const tokens = llm.countTokens('hello world').tokens;
print(typeof r.text, reason === null ? 'null' : typeof reason, tokens > 0);

const slug = text.slugify('Hello World', { separator: '_' });
const doc = json.decode(json.encode({ slug, list: [1, 2] }, { pretty: false }));
print(slug, doc.list.length);

const digest = crypto.hash('abc', 'sha256', { encoding: 'bytes' });
print(typeof crypto.uuid(), digest instanceof Uint8Array ? digest.length : 'hex');
print(typeof text.estimateTokens('four words of text'), time.format(0, '%Y', { tz: 'utc' }));

// A namespace with a member named by a reserved word (state.delete, errors.new).
await state.set('greeting', 'hi', { ttl: 60 });
print(state.get('greeting'), state.delete('greeting'), state.get('greeting', 'gone'));
const scoped = state.scope('spell');
await scoped.set('n', 1);
print(scoped.get('n'), scoped.keys().length);

log.with({ component: 'dts' }).debug('not shown at the default level');
print(spell.args.length, typeof spell.params, spell.context().engine);
