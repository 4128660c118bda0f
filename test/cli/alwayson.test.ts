/** `tpx alwayson decode|encode` through bin/tpx.js as subprocesses. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hex, VECTORS, vector } from '../alwayson/codec/vectors.js';
import { TPX_BIN, tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx } from '../helpers/run.js';

const home = tempConfigHome();
const env = home.env;
const dir = mkdtempSync(join(tmpdir(), 'tpx-alwayson-'));
afterAll(() => {
  home.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const spaced = (h: string) => h.match(/../g)!.join(' ');
const chunkHex = [1, 2, 3].map((i) => vector(`multipart-post-svc-60A/chunk${i}`).hex);
/** D1: the SDK's 0x84 "not found" reply, padded with strlen(reason)+1 zero bytes. */
const padded = `01840000004f000000050000002a0000ff${'00'.repeat(10)}`;

describe('tpx alwayson decode', () => {
  it('decodes hex given as separate arguments into a tree, and --json into the documented document', async () => {
    const args = spaced(vector('bind-dev1').hex).split(' ');
    const tree = await runTpx(['alwayson', 'decode', ...args], { env });
    expect(tree.code).toBe(0);
    expect(tree.stdout).toContain('BIND (0x0a)');
    expect(tree.stdout).toContain('names (1): "Dev1"');
    const json = await runTpx(['alwayson', 'decode', '--json', vector('bind-dev1').hex.match(/../g)!.join(':')], {
      env,
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      header: { version: 1, code: 'BIND', codeValue: 10, requestId: 2, endpointId: 0, sessionId: 42, multipart: null },
      body: { kind: 'bind', gateway: null, names: ['Dev1'] },
      trailing: null,
    });
  });

  it('masks AUTH claims in the tree but keeps them in --json (so encode gives the bytes back)', async () => {
    const r = await runTpx(['alwayson', 'decode', vector('auth-appkey-abc').hex], { env });
    expect(r.stdout).toContain('claim appKey = "*****"');
    expect(r.stdout).not.toContain('"abc"');
  });

  it('reads raw bytes with --file', async () => {
    const file = join(dir, 'push.bin');
    writeFileSync(file, hex(vector('push-properties-temp-21.5').hex));
    const r = await runTpx(['alwayson', 'decode', '--file', file], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('request THING "Dev1" SERVICES "UpdateSubscribedPropertyValues"');
    expect(r.stdout).toContain('value = VARIANT NUMBER 21.5');
  });

  it('reassembles the chunks of one multipart message given on stdin in any order', async () => {
    const r = await runTpx(['alwayson', 'decode', '--json'], {
      env,
      input: `${chunkHex[2]}\n${chunkHex[0]}\n${chunkHex[1]}\n`,
    });
    expect(r.code).toBe(0);
    const docs = r.stdout.trim().split('\n');
    expect(docs).toHaveLength(1);
    const doc = JSON.parse(docs[0]!);
    expect(doc.header.multipart).toEqual({ chunkCount: 3, chunkSize: 64 });
    expect(doc.body.params.rows[0][0]).toEqual({ baseType: 'STRING', value: 'A'.repeat(60) });
  });

  it('a lone chunk decodes as a chunk and encodes back', async () => {
    const d = await runTpx(['alwayson', 'decode', '--json', chunkHex[1]!], { env });
    const doc = JSON.parse(d.stdout);
    expect(doc.header.multipart).toEqual({ chunkId: 2, chunkCount: 3, chunkSize: 64 });
    expect(doc.body).toMatchObject({ kind: 'chunk', entityType: 'THING', entityName: 'Dev1' });
    const e = await runTpx(['alwayson', 'encode'], { env, input: d.stdout });
    expect(e.stdout.trim()).toBe(chunkHex[1]);
  });

  it('bad input exits 2 with the byte offset and what was expected', async () => {
    const r = await runTpx(['alwayson', 'decode', '01 14 00'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('byte 2: expected a 4-byte request id');
    const j = await runTpx(['alwayson', 'decode', '--json', '01 0a 00'], { env });
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'TPX_PROTOCOL', details: { offset: 2 } });
    const line = await runTpx(['alwayson', 'decode'], { env, input: `${vector('bind-dev1').hex}\n01 63 00\n` });
    expect(line.code).toBe(2);
    expect(line.stderr).toMatch(/Line 2: .*byte 1: expected a known message code/);
    const notHex = await runTpx(['alwayson', 'decode', '01 zz'], { env });
    expect(notHex.code).toBe(2);
    expect(notHex.stderr).toContain('at character 4: expected a hex digit');
    const empty = await runTpx(['alwayson', 'decode'], { env, input: '' });
    expect(empty.code).toBe(2);
  });
});

describe('tpx alwayson encode', () => {
  it('decode --json | encode gives back every vector frame and padded replies, byte for byte (shell pipe)', async () => {
    const frames = [...VECTORS.filter((v) => v.kind === 'message').map((v) => v.hex), ...chunkHex, padded];
    const file = join(dir, 'frames.txt');
    writeFileSync(file, `${frames.map(spaced).join('\n')}\n`);
    const node = JSON.stringify(process.execPath);
    const bin = JSON.stringify(TPX_BIN);
    const { stdout } = await promisify(execFile)(
      'sh',
      ['-c', `${node} ${bin} alwayson decode --json < ${JSON.stringify(file)} | ${node} ${bin} alwayson encode`],
      { env },
    );
    expect(stdout.trim().split('\n')).toEqual(frames);
  });

  it('--chunk-size prints the multipart frames exactly as §7 splits them', async () => {
    const d = await runTpx(['alwayson', 'decode', '--json'], { env, input: chunkHex.join('\n') });
    const doc = JSON.parse(d.stdout);
    doc.header.multipart = null;
    const single = await runTpx(['alwayson', 'encode', JSON.stringify(doc)], { env });
    expect(single.stdout.trim().split('\n')).toHaveLength(1);
    const split = await runTpx(['alwayson', 'encode', '--chunk-size', '64', JSON.stringify(doc)], { env });
    expect(split.code).toBe(0);
    expect(split.stdout.trim().split('\n')).toEqual(chunkHex);
  });

  it('bad JSON and bad messages exit 2 saying where and what was expected', async () => {
    const bad = await runTpx(['alwayson', 'encode', '{"header":'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid JSON/);
    const doc = {
      header: { code: 'PUT', requestId: 1 },
      body: {
        kind: 'request',
        entityType: 'THING',
        entityName: 'Dev1',
        characteristic: 'PROPERTIES',
        name: 'n',
        params: { dataShape: [{ name: 'n', baseType: 'INTEGER' }], rows: [[{ baseType: 'INTEGER', value: 1.5 }]] },
      },
    };
    const r = await runTpx(['alwayson', 'encode', JSON.stringify(doc)], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('at body.params.rows[0][0].value: expected an integer from -2147483648 to 2147483647');
    const asBind = { header: { code: 'BIND' }, body: { ...doc.body, params: null } };
    const kind = await runTpx(['alwayson', 'encode', JSON.stringify(asBind)], { env });
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('body.kind: expected "bind" for code BIND');
  });
});
