// A full Debug Adapter Protocol session against `llmspell dap`, driven by the DebugClient of
// @vscode/debugadapter-testsupport (npm): breakpoint inside an async function after a sleep,
// threads, stack, scopes, variables (expanded), evaluate, next/stepIn/stepOut, the exception
// stop, exited/terminated; then conditional and hit-count breakpoints, pause and terminate.
// Usage: node dap_session.js LLMSPELL_BINARY SPELL_DIR EXT TESTSUPPORT_DIR
// Nothing here waits on time: every step waits for the adapter's own answer or event.
// The spells are the same in each engine, line for line; where the engines differ, `js` says how
// JavaScript does: its tasks are promise chains on one stack (one thread, "main"), arrays count
// from 0, and a spell that waits has no JavaScript frames to show.
'use strict';
const assert = require('assert');
const path = require('path');
const [bin, dir, ext, support] = process.argv.slice(2);
const js = ext === '.js';
const { DebugClient } = require(support);
// Where the engines differ: Tengo's arrays count from 0, and its runtime errors are the VM's.
const tengo = ext === '.tengo';

// Adapters started here, ended if a check fails (one left running an endless spell would
// outlive the test: an adapter whose client is gone lets its spell run on).
const adapters = [];

function client() {
  const dc = new DebugClient(bin, 'dap', 'llmspell');
  dc.defaultTimeout = 60000;  // a slow machine is not a failure; a missing event still is
  adapters.push(() => dc.stopAdapter());
  return dc;
}

// Starts a launch with breakpoints set during configuration; resolves with the first stop.
async function launch(dc, program, breakpoints, extra = {}) {
  const stopped = dc.waitForEvent('stopped');
  await Promise.all([
    dc.waitForEvent('initialized').then(async () => {
      const r = await dc.setBreakpointsRequest({ source: { path: program }, breakpoints });
      assert.strictEqual(r.body.breakpoints.length, breakpoints.length);
      for (const b of r.body.breakpoints) assert.ok(b.verified);
      await dc.setExceptionBreakpointsRequest({ filters: ['error'] });
      await dc.configurationDoneRequest();
    }),
    dc.launch(Object.assign({ program }, extra)),
  ]);
  return (await stopped).body;
}

async function topFrame(dc, threadId) {
  const st = await dc.stackTraceRequest({ threadId });
  const frame = st.body.stackFrames.find((f) => f.source);
  assert.ok(frame, 'a frame with source: ' + JSON.stringify(st.body));
  return frame;
}

async function locals(dc, frameId) {
  const scopes = await dc.scopesRequest({ frameId });
  const loc = scopes.body.scopes.find((s) => s.name === 'Locals');
  assert.ok(loc, JSON.stringify(scopes.body));
  const vars = await dc.variablesRequest({ variablesReference: loc.variablesReference });
  return Object.fromEntries(vars.body.variables.map((v) => [v.name, v]));
}

async function step(dc, kind, threadId, line) {
  const stopped = dc.waitForEvent('stopped');
  await dc[kind + 'Request']({ threadId });
  const ev = (await stopped).body;
  assert.strictEqual(ev.reason, 'step');
  const frame = await topFrame(dc, ev.threadId);
  assert.strictEqual(frame.line, line, kind + ' stopped at line ' + frame.line + ', expected ' + line);
  return frame;
}

async function mainSession() {
  const dc = client();
  await dc.start();
  const program = path.join(dir, 'main' + ext);
  const stop = await launch(dc, program, [{ line: 6 }]);
  assert.strictEqual(stop.reason, 'breakpoint');
  // Stopped in the spawned task, after its sleep: the main chunk waits in await, a thread too.
  const threads = (await dc.threadsRequest()).body.threads;
  assert.ok(threads.length >= (js ? 1 : 2), 'threads: ' + JSON.stringify(threads));
  assert.ok(threads.some((t) => t.name === 'main'), JSON.stringify(threads));
  if (!js) assert.notStrictEqual(stop.threadId, threads.find((t) => t.name === 'main').id);
  let frame = await topFrame(dc, stop.threadId);
  assert.strictEqual(frame.line, 6);
  assert.strictEqual(path.resolve(frame.source.path), path.resolve(program));
  if (!js) {
    const mainFrames = (await dc.stackTraceRequest({ threadId: threads.find((t) => t.name === 'main').id })).body.stackFrames;
    assert.ok(mainFrames.some((f) => f.source && f.line === 12), 'main waits at line 12: ' + JSON.stringify(mainFrames));
  }
  let vars = await locals(dc, frame.id);
  assert.strictEqual(vars.n.value, '20');
  const ev = await dc.evaluateRequest({ expression: 'n * 3', frameId: frame.id, context: 'watch' });
  assert.strictEqual(ev.body.result, '60');
  await step(dc, 'next', stop.threadId, 7);
  frame = await step(dc, 'next', stop.threadId, 8);
  vars = await locals(dc, frame.id);
  assert.strictEqual(vars.doubled.value, '40');
  assert.ok(vars.info.variablesReference > 0, 'info expands');
  const info = (await dc.variablesRequest({ variablesReference: vars.info.variablesReference })).body.variables;
  const tags = info.find((v) => v.name === 'tags');
  assert.ok(tags && tags.variablesReference > 0, JSON.stringify(info));
  const tagItems = (await dc.variablesRequest({ variablesReference: tags.variablesReference })).body.variables;
  assert.deepStrictEqual(tagItems.map((v) => v.value), ['"a"', '"b"']);
  const ev2 = await dc.evaluateRequest({ expression: js || tengo ? 'info.tags[1]' : 'info.tags[2]', frameId: frame.id, context: 'repl' });
  assert.strictEqual(ev2.body.result, '"b"');
  await step(dc, 'stepIn', stop.threadId, 2);
  await step(dc, 'stepOut', stop.threadId, 9);
  // On to the error at the end: an exception stop, then the exit.
  const output = dc.assertOutput('stdout', 'result 43');
  const exc = dc.waitForEvent('stopped');
  await dc.continueRequest({ threadId: stop.threadId });
  await output;
  const excStop = (await exc).body;
  assert.strictEqual(excStop.reason, 'exception');
  assert.ok((tengo ? /divide by zero/ : /boom at the end/).test(excStop.text), excStop.text);
  frame = await topFrame(dc, excStop.threadId);
  assert.strictEqual(frame.line, 14);
  const exited = dc.waitForEvent('exited');
  const terminated = dc.waitForEvent('terminated');
  await dc.continueRequest({ threadId: excStop.threadId });
  assert.strictEqual((await exited).body.exitCode, 1);
  await terminated;
  await dc.stop();
}

async function loopSession() {
  const dc = client();
  await dc.start();
  const program = path.join(dir, 'loop' + ext);
  // The 2nd hit where i is even: i == 4.
  const stop = await launch(dc, program, [{ line: 3, condition: 'i % 2 == 0', hitCondition: '2' }]);
  assert.strictEqual(stop.reason, 'breakpoint');
  const frame = await topFrame(dc, stop.threadId);
  assert.strictEqual((await dc.evaluateRequest({ expression: 'i', frameId: frame.id })).body.result, '4');
  await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
  await dc.continueRequest({ threadId: stop.threadId });
  // Endless now: only a pause stops it.
  const paused = dc.waitForEvent('stopped');
  await dc.pauseRequest({ threadId: stop.threadId });
  const p = (await paused).body;
  assert.strictEqual(p.reason, 'pause');
  const pf = await topFrame(dc, p.threadId);
  if (js) {
    // V8 stops at the very next statement, which may still be in the first loop (the pause
    // races the continue); Lua's count hook comes every 1000 instructions, past it.
    assert.ok(pf.line >= 2 && pf.line <= 7, 'paused in the loops: ' + pf.line);
    assert.strictEqual((await dc.evaluateRequest({ expression: 'acc >= 14', frameId: pf.id })).body.result, 'true');
  } else {
    assert.ok(pf.line >= 5 && pf.line <= 7, 'paused in the loop: ' + pf.line);
    assert.strictEqual((await dc.evaluateRequest({ expression: 'acc > 385', frameId: pf.id })).body.result, 'true');
  }
  const terminated = dc.waitForEvent('terminated');
  await dc.terminateRequest({});
  await terminated;
  await dc.stop();
}

// A pause while the spell waits (no hook runs): the stop comes through the spell's loop.
async function idleSession() {
  const dc = client();
  await dc.start();
  const program = path.join(dir, 'idle' + ext);
  const waiting = js ? dc.assertOutput('stdout', 'waiting') : null;
  await Promise.all([
    dc.waitForEvent('initialized').then(() => dc.configurationDoneRequest()),
    dc.launch({ program }),
  ]);
  await waiting;
  const threads = (await dc.threadsRequest()).body.threads;
  const paused = dc.waitForEvent('stopped');
  await dc.pauseRequest({ threadId: threads[0].id });
  const p = (await paused).body;
  assert.strictEqual(p.reason, 'pause');
  if (js) {
    // Nothing runs while it waits: no frames (or, had the pause come before the sleep call
    // began, line 2); expressions see the spell's globals.
    const st = await dc.stackTraceRequest({ threadId: p.threadId });
    assert.ok(st.body.stackFrames.length === 0 || st.body.stackFrames[0].line === 2, JSON.stringify(st.body));
    assert.strictEqual((await dc.evaluateRequest({ expression: 'typeof sleep' })).body.result, '"function"');
  } else {
    const frame = await topFrame(dc, p.threadId);
    assert.strictEqual(frame.line, 2);
    assert.strictEqual((await dc.evaluateRequest({ expression: 'waited', frameId: frame.id })).body.result, '"not yet"');
  }
  const exited = dc.waitForEvent('exited');
  await dc.terminateRequest({});
  assert.strictEqual((await exited).body.exitCode, 1);
  await dc.stop();
}

// Over TCP (`llmspell dap --port N`), stopping on entry.
async function tcpSession() {
  const { spawn } = require('child_process');
  const net = require('net');
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const adapter = spawn(bin, ['dap', '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  adapters.push(() => adapter.kill());
  // It says so on stderr once it listens.
  await new Promise((resolve, reject) => {
    let err = '';
    adapter.stderr.on('data', (d) => {
      err += d;
      if (err.includes('listening on 127.0.0.1:' + port)) resolve();
    });
    adapter.on('exit', (code) => reject(new Error('adapter exited ' + code + ': ' + err)));
  });
  const dc = client();
  await dc.start(port);
  const program = path.join(dir, 'uses_lib' + ext);
  const stop = await launch(dc, program, [], { stopOnEntry: true });
  assert.strictEqual(stop.reason, 'entry');
  assert.strictEqual((await topFrame(dc, stop.threadId)).line, 1);
  const output = dc.assertOutput('stdout', '10');
  const exited = dc.waitForEvent('exited');
  await dc.continueRequest({ threadId: stop.threadId });
  await output;
  assert.strictEqual((await exited).body.exitCode, 0);
  await dc.stop();
  await new Promise((resolve) => (adapter.exitCode !== null ? resolve() : adapter.on('exit', resolve)));
}

(async () => {
  await mainSession();
  await loopSession();
  await idleSession();
  await tcpSession();
  console.log('dap session ok');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  for (const stop of adapters) {
    try {
      stop();
    } catch (_) {
    }
  }
  process.exit(1);
});
