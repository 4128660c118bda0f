import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  EncodeError,
  encodeFrames,
  encodeMessage,
  infoTableFromValues,
  type Message,
  ProtocolError,
  Reassembler,
  splitMessage,
} from '../../../src/alwayson/codec/index.js';
import { hex, vector } from './vectors.js';

function post(entityName: string, text: string, requestId = 9): Message {
  return {
    header: { version: 1, code: 'POST', codeValue: 3, requestId, endpointId: 0, sessionId: 42, multipart: null },
    body: {
      kind: 'request',
      entityType: 'THING',
      entityName,
      characteristic: 'SERVICES',
      name: 'Svc',
      headers: {},
      params: infoTableFromValues({ p: { baseType: 'STRING', value: text } }),
    },
  };
}

function response(text: string, requestId = 9): Message {
  return {
    header: { version: 1, code: 'SUCCESS', codeValue: 0x40, requestId, endpointId: 5, sessionId: 42, multipart: null },
    body: {
      kind: 'response',
      reason: null,
      content: infoTableFromValues({ result: { baseType: 'JSON', value: text } }),
    },
  };
}

function reassemble(frames: Buffer[], r = new Reassembler()) {
  let out = null;
  for (const f of frames) {
    expect(out).toBeNull();
    out = r.push(f);
  }
  return out;
}

describe('splitMessage (§7)', () => {
  it('reproduces the SDK chunks of the 60 × A service call', () => {
    const frames = splitMessage(post('Dev1', 'A'.repeat(60)), 64);
    expect(frames.map((f) => f.toString('hex'))).toEqual(
      [1, 2, 3].map((i) => vector(`multipart-post-svc-60A/chunk${i}`).hex),
    );
  });

  it('one frame when body + 21 fits the chunk size', () => {
    const m = post('Dev1', 'A');
    const single = encodeMessage(m);
    expect(splitMessage(m, single.length + 6)).toEqual([single]);
    expect(splitMessage(m, single.length + 5)).toHaveLength(2);
  });

  it('a body that is an exact multiple of the budget ends with an empty chunk, as the SDK', () => {
    // body 87 bytes at chunk size 64: budget 37. Make the body 74 = 2 × 37 with 47 × A.
    const m = post('Dev1', 'A'.repeat(47));
    expect(encodeMessage(m).length - 15).toBe(74);
    const frames = splitMessage(m, 64);
    expect(frames).toHaveLength(3);
    expect(frames[2]!.length).toBe(21 + 6);
    expect(decodeMessage(frames[2]!).body).toEqual({
      kind: 'chunk',
      entityType: 'THING',
      entityName: 'Dev1',
      data: '',
    });
    expect(reassemble(frames)).toMatchObject({ body: m.body, header: { multipart: { chunkCount: 3, chunkSize: 64 } } });
  });

  it('response chunks carry no entity prefix', () => {
    const m = response('x'.repeat(100));
    const frames = splitMessage(m, 40);
    for (const f of frames.slice(0, -1)) expect(f.length).toBe(40);
    const whole = reassemble(frames);
    expect(whole!.body).toEqual(m.body);
    expect(whole!.header).toEqual({ ...m.header, multipart: { chunkCount: frames.length, chunkSize: 40 } });
  });

  it('AUTH and BIND are never split; too small chunk sizes and oversize messages are refused', () => {
    const bind: Message = {
      header: { version: 1, code: 'BIND', codeValue: 10, requestId: 2, endpointId: 0, sessionId: 42, multipart: null },
      body: { kind: 'bind', gateway: null, names: ['a'.repeat(100)] },
    };
    expect(() => splitMessage(bind, 64)).toThrow(EncodeError);
    expect(() => splitMessage(post('Dev1', 'A'.repeat(60)), 27)).toThrow(/chunk size of at least 33/);
    expect(() => splitMessage(post('Dev1', 'A'.repeat(2000)), 8192, { maxMessageSize: 1000 })).toThrow(
      /at most 1000 bytes/,
    );
  });

  it('encodeMessage refuses a multipart header; encodeFrames re-splits a reassembled message', () => {
    const frames = splitMessage(post('Dev1', 'A'.repeat(60)), 64);
    const whole = reassemble(frames)!;
    expect(() => encodeMessage(whole)).toThrow(EncodeError);
    expect(encodeFrames(whole)).toEqual(frames);
    expect(encodeFrames(decodeMessage(frames[1]!))).toEqual([frames[1]]);
  });

  it('encodeFrames finds the deflate budget (4 bytes less) a compressing SDK used', () => {
    const m = post('Dev1', 'A'.repeat(72)); // body 99: 3 chunks with a budget of 37, 4 with 33
    const deflated = splitMessage(m, 64, undefined, { deflate: true });
    const plain = splitMessage(m, 64);
    expect(deflated.length).not.toBe(plain.length);
    const whole = reassemble([...deflated].reverse())!;
    expect(encodeFrames(whole)).toEqual(deflated);
  });
});

describe('Reassembler', () => {
  it('passes single frames through', () => {
    const r = new Reassembler();
    expect(r.push(hex(vector('bind-dev1').hex))!.body).toMatchObject({ kind: 'bind', names: ['Dev1'] });
  });

  it('keeps interleaved messages apart by code and request id', () => {
    const a = splitMessage(post('Dev1', 'A'.repeat(100), 7), 64);
    const b = splitMessage(response('B'.repeat(100), 7), 64);
    const r = new Reassembler();
    const got: unknown[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const f of [a[i], b[i]]) {
        const m = f && r.push(f);
        if (m) got.push(m.body.kind);
      }
    }
    expect(got.sort()).toEqual(['request', 'response']);
    expect(r.pending).toBe(0);
    expect(r.pendingBytes).toBe(0);
  });

  it('rejects a chunk whose count or size differs from the earlier chunks of its message', () => {
    const a = splitMessage(post('Dev1', 'A'.repeat(100)), 64);
    const b = splitMessage(post('Dev1', 'A'.repeat(100)), 80);
    const r = new Reassembler();
    r.push(a[0]!);
    expect(() => r.push(b[1]!)).toThrow(ProtocolError);
  });

  it('drops stale incomplete messages (clock injected)', () => {
    let now = 0;
    const r = new Reassembler({ staleMs: 1000, now: () => now });
    const frames = splitMessage(post('Dev1', 'A'.repeat(100)), 64);
    r.push(frames[0]!);
    expect(r.pending).toBe(1);
    now = 1001;
    expect(r.push(frames[1]!)).toBeNull();
    expect(r.pending).toBe(1); // the old set was dropped; frames[1] started a new one
    for (const f of frames.slice(2)) expect(r.push(f)).toBeNull();
    expect(r.push(frames[0]!)).not.toBeNull();
  });

  it('bounds memory: at most maxPending sets and maxPendingBytes bytes', () => {
    const r = new Reassembler({ maxPending: 3, maxPendingBytes: 500 });
    for (let id = 1; id <= 10; id++) r.push(splitMessage(post('Dev1', 'A'.repeat(300), id), 64)[0]!);
    expect(r.pending).toBe(3);
    const big = new Reassembler({ maxPendingBytes: 100 });
    const frames = splitMessage(post('Dev1', 'A'.repeat(300)), 64);
    big.push(frames[0]!);
    big.push(frames[1]!);
    expect(() => big.push(frames[2]!)).toThrow(/maxPendingBytes/);
    expect(big.pendingBytes).toBe(0);
  });

  it('rejects a reassembled message above maxMessageSize', () => {
    const frames = splitMessage(post('Dev1', 'A'.repeat(3000)), 1024);
    const r = new Reassembler({ maxMessageSize: 2048 });
    // As announced (4 × 1024) the set is refused from its first chunk.
    expect(() => r.push(frames[0]!)).toThrow(/chunk count × chunk size of at most 2048/);
    // A sender that announces a small chunk size but sends more data is stopped by the byte count.
    for (const f of frames) f.writeUInt16BE(16, 19);
    expect(() => {
      for (const f of frames) r.push(f);
    }).toThrow(/reassembled message of at most 2048 bytes/);
    expect(r.pending).toBe(0);
  });

  it('reports errors in a reassembled body with offsets in the reassembled message', () => {
    const frames = splitMessage(response('x'.repeat(100)), 40);
    const last = Buffer.from(frames[frames.length - 1]!);
    last[last.length - 1] = 0x07; // end-of-rows marker becomes an invalid row marker
    const r = new Reassembler();
    for (const f of frames.slice(0, -1)) r.push(f);
    try {
      r.push(last);
      throw new Error('expected a ProtocolError');
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      const body = encodeMessage(response('x'.repeat(100))).length;
      expect((err as ProtocolError).offset).toBe(body - 1);
    }
  });
});
