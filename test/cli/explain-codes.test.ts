/**
 * `tpx explain` knows every TPX_* code tpx prints (walked in src/), the "Thing is not bound" text, bind refusals
 * under both policies, and the errors of a takeover (issue 11, on call).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExplain } from '../../src/cli/commands/explain.js';
import { createTestContext } from '../../src/cli/context.js';
import { CODE_EXPLANATIONS } from '../../src/cli/explain-codes.js';
import { ROOT } from '../helpers/cli.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The codes in src/: string literals that are a whole TPX_* name. Settings' environment variables are names of
 * src/config/keys.ts (help texts name them inside longer strings); a prefix ending in "_" is no code.
 */
function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of files(join(ROOT, 'src'))) {
    if (f.endsWith(join('config', 'keys.ts'))) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/['"`](TPX_[A-Z0-9_]+)['"`]/g)) {
      if (!m[1]!.endsWith('_') && !found.has(m[1]!)) found.set(m[1]!, f.slice(ROOT.length + 1));
    }
  }
  return found;
}

async function explain(text: string) {
  const t = createTestContext({ json: true });
  await runExplain(t.ctx, [text]);
  return JSON.parse(t.stdout.text) as {
    recognised: boolean;
    explanations: { id: string; title: string; cause: string; fix: string }[];
  };
}

describe('tpx explain knows every TPX_* code', () => {
  it('every code in src/ is explained (the missing ones are listed)', async () => {
    const codes = codesInSource();
    expect(codes.size).toBeGreaterThan(50);
    const missing = [...codes].filter(([c]) => !CODE_EXPLANATIONS[c]).map(([c, f]) => `${c} (${f})`);
    expect(missing, `explain these codes in src/cli/explain-codes.ts:\n${missing.join('\n')}`).toEqual([]);
    for (const code of codes.keys()) {
      const r = await explain(code);
      expect(r.recognised, code).toBe(true);
      const e = r.explanations.find((x) => x.id === code.toLowerCase()) ?? r.explanations[0]!;
      expect(e.cause.length, code).toBeGreaterThan(10);
      expect(e.fix.length, code).toBeGreaterThan(10);
    }
  });

  it('tpx explain TPX_THING_NOT_FOUND (the README says it knows the codes)', async () => {
    const t = createTestContext();
    await runExplain(t.ctx, ['TPX_THING_NOT_FOUND']);
    expect(t.stdout.text).toMatch(/^TPX_THING_NOT_FOUND: Thing not found$/m);
    expect(t.stdout.text).toMatch(/^fix: +Check the DevEUI with "tpx thing list"/m);
  });
});

describe('tpx explain on the takeover path', () => {
  it('"Thing is not bound" (the 500 of a downlink to an unheld Thing): no connector holds it', async () => {
    const r = await explain(
      'ThingWorx answered 500 to PUT Things/0018B20000000B20/Properties/downlink: Unable to write remote property [downlink] on 0018B20000000B20: Thing is not bound',
    );
    expect(r.explanations[0]).toMatchObject({
      id: 'thing-not-bound',
      title: 'Thing is not bound: no connector holds it',
      cause: /No connector holds Thing 0018B20000000B20/,
      fix: /tpx thing show 0018B20000000B20 --admin-key/,
    });
    expect((await explain('TPX_TWX_THING_NOT_BOUND')).explanations[0]!.fix).toMatch(/tpx thingworx check --admin-key/);
  });

  it('a bind refused under First in wins names a second connector, not only a ghost, and how to find it', async () => {
    const r = await explain(
      'Error trying to process message: Binding failed, see server log for more information V1BindMessage [header=V1MessageHeader [messageType=10, requestId=1, endpointId=1, sessionId=1, flags=0], gatewayName=null, gatewayType=null, names=[0018B20000000B20]]',
    );
    const e = r.explanations[0]!;
    expect(e.id).toBe('bind-failed');
    expect(e.cause).toMatch(/First in wins.*second connector.*Actility-hosted.*ghost/);
    expect(e.cause).toMatch(/Last in wins.*missing, not based on RemoteThing/);
    expect(e.fix).toMatch(/tpx thingworx check --admin-key <administrator key>" lists every session/);
  });

  it('a bind refused for Things ThingWorx does not know (either policy) says so', async () => {
    const r = await explain(
      'error: ThingWorx refused to bind 1 Thing(s) it does not know as Remote Things: 0018B20000000B20. (TPX_BIND_REJECTED)',
    );
    expect(r.explanations[0]).toMatchObject({ id: 'bind-failed', cause: /does not know as Remote Things/ });
    expect(r.explanations[0]!.fix).toMatch(/based on RemoteThing/);
  });

  it('binds taken over (Last in wins) and a silent holder (a ghost)', async () => {
    let r = await explain('0018B20000000B20 is not bound on this connection');
    expect(r.explanations[0]).toMatchObject({ id: 'bound-elsewhere', cause: /took its bind over/ });
    r = await explain('Unable to write remote property [downlink] on 0018B20000000B20: the edge did not answer');
    expect(r.explanations[0]).toMatchObject({
      id: 'edge-no-answer',
      cause: /did not answer the write of downlink: a ghost session/,
      fix: /--fix/,
    });
  });
});
