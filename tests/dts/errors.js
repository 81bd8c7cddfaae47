// Host errors are LlmspellError instances with code, retryable, details, source and line.
try {
  json.decode('{not json');
} catch (e) {
  if (e instanceof LlmspellError) {
    print(e.code, e.retryable, typeof e.message, e.line > 0, typeof e.source);
    print(String(e).startsWith(e.code + ':'));
  }
}

// A spell's own errors: thrown as LlmspellError, or made by errors.new / errors.wrap.
const mine = new LlmspellError('quota reached', 'limit_exceeded', true, { used: 10 });
print(mine.code, mine.retryable, mine.details.used, mine instanceof Error);
const made = errors.new('not_found', 'no such user', { id: 7 }, { retryable: false });
const wrapped = errors.wrap(made, 'loading profile');
print(made.code, made.details.id, wrapped.message, wrapped.cause.code, errors.is(wrapped, 'not_found'));
print(errors.codes().includes('timeout'));

const value = await errors.try(
  () => { throw made; },
  (err) => `caught ${err.code}`,
);
print(value);

const attempts = [];
const ok = await errors.retry(async () => {
  attempts.push(attempts.length);
  if (attempts.length < 2) throw new LlmspellError('flaky', 'unavailable', true);
  return 'done';
}, { attempts: 3, backoff: 0 });
print(ok, attempts.length);

try {
  await sleep(-1);
} catch (e) {
  print(e.code);
}
