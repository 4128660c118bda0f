/**
 * The driver worker's code (run with `new Worker(WORKER_SOURCE, { eval: true, workerData: { clock } })`, so it
 * works from src/ under vitest and from dist/ alike). Each driver gets its own vm context (realm) built from
 * PRELUDE + the driver's script + EPILOGUE; loading a script runs with the vm's time limit.
 *
 * Calls run `__tpx_run()` (microtasks included) WITHOUT the vm's time limit: Node starts a watchdog thread for
 * every run given a `timeout` (about 90 µs a call, most of a call's cost). Instead the worker publishes the call it
 * is running in `clock` (a SharedArrayBuffer, see CallClock in host.ts): its start time (process.hrtime, ms), then
 * its id with Atomics.store; id 0 once the call is over. The host reads it and terminates the worker when a call
 * runs past the limit. Everything that may run driver code (setting `__tpx_in`, reading a thrown value's message)
 * happens while the call's id is published.
 *
 * Messages in:  {op:'load', key, code, filename, timeoutMs}  {op:'call', id, key, json}
 * Messages out: {op:'loaded', key, functions?, error?}       {op:'result', id, json?, error?}
 */
import { EPILOGUE, PRELUDE } from './realm.js';

export const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const PRELUDE = ${JSON.stringify(PRELUDE)};
const EPILOGUE = ${JSON.stringify(EPILOGUE)};
const RUN = new vm.Script('__tpx_run()', { filename: 'tpx-driver-call' });
const realms = new Map();
const runningId = new Int32Array(workerData.clock, 0, 1);
const runningSince = new Float64Array(workerData.clock, 8, 1);
function nowMs() {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
function message(err) {
  if (err && typeof err === 'object' && typeof err.message === 'string') return err.message;
  try { return String(err); } catch { return 'driver threw a value that cannot be shown'; }
}
function isTimeout(err) {
  return !!err && typeof err === 'object' && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}
parentPort.on('message', (m) => {
  if (m.op === 'load') {
    try {
      const ctx = vm.createContext(Object.create(null), {
        name: 'driver ' + m.key,
        codeGeneration: { strings: true, wasm: false },
        microtaskMode: 'afterEvaluate',
      });
      new vm.Script(PRELUDE, { filename: 'tpx-prelude' }).runInContext(ctx);
      new vm.Script(m.code, { filename: m.filename }).runInContext(ctx, { timeout: m.timeoutMs });
      new vm.Script(EPILOGUE, { filename: 'tpx-epilogue' }).runInContext(ctx);
      realms.set(m.key, ctx);
      parentPort.postMessage({ op: 'loaded', key: m.key, functions: String(ctx.__tpx_functions).split(',').filter(Boolean) });
    } catch (err) {
      parentPort.postMessage({ op: 'loaded', key: m.key, error: message(err), timeout: isTimeout(err) });
    }
    return;
  }
  if (m.op === 'call') {
    runningSince[0] = nowMs();
    Atomics.store(runningId, 0, m.id);
    let answer;
    const ctx = realms.get(m.key);
    if (!ctx) answer = { op: 'result', id: m.id, error: 'driver not loaded' };
    else {
      try {
        ctx.__tpx_in = m.json;
        const json = RUN.runInContext(ctx);
        ctx.__tpx_in = undefined;
        answer = { op: 'result', id: m.id, json: typeof json === 'string' ? json : undefined };
      } catch (err) {
        answer = { op: 'result', id: m.id, error: message(err) };
      }
    }
    Atomics.store(runningId, 0, 0);
    parentPort.postMessage(answer);
  }
});
`;
