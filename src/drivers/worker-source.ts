/**
 * The driver worker's code (run with `new Worker(WORKER_SOURCE, { eval: true })`, so it works from src/ under
 * vitest and from dist/ alike). Each driver gets its own vm context (realm) built from PRELUDE + the driver's
 * script + EPILOGUE; each call runs `__tpx_run()` with the vm's time limit, microtasks included.
 *
 * Messages in:  {op:'load', key, code, filename, timeoutMs}  {op:'call', id, key, json, timeoutMs}
 * Messages out: {op:'loaded', key, functions?, error?}       {op:'result', id, json?, error?, timeout?}
 */
import { EPILOGUE, PRELUDE } from './realm.js';

export const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const vm = require('node:vm');
const PRELUDE = ${JSON.stringify(PRELUDE)};
const EPILOGUE = ${JSON.stringify(EPILOGUE)};
const RUN = new vm.Script('__tpx_run()', { filename: 'tpx-driver-call' });
const realms = new Map();
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
    const ctx = realms.get(m.key);
    if (!ctx) {
      parentPort.postMessage({ op: 'result', id: m.id, error: 'driver not loaded' });
      return;
    }
    try {
      ctx.__tpx_in = m.json;
      const json = RUN.runInContext(ctx, { timeout: m.timeoutMs });
      ctx.__tpx_in = undefined;
      parentPort.postMessage({ op: 'result', id: m.id, json: typeof json === 'string' ? json : undefined });
    } catch (err) {
      parentPort.postMessage({ op: 'result', id: m.id, error: message(err), timeout: isTimeout(err) });
    }
  }
});
`;
