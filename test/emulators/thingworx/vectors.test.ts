/**
 * The emulator against PTC's own bytes (test/fixtures/alwayson/csdk-2.2.1.json, copied unchanged from shared/vectors): it accepts every client frame
 * and writes the same bytes for the same server messages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/alwayson/codec/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { ROOT } from '../../helpers/cli.js';
import { nextEvent, RawEdge, rest } from './helpers.js';

interface Vector {
  name: string;
  kind: string;
  hex: string;
}
const file = join(ROOT, 'test', 'fixtures', 'alwayson', 'csdk-2.2.1.json');
const vectors = (JSON.parse(readFileSync(file, 'utf8')) as { vectors: Vector[] }).vectors;
const hex = (name: string) => vectors.find((v) => v.name === name)!.hex;
const bytes = (name: string) => Buffer.from(hex(name), 'hex');

describe('ThingWorx emulator: PTC C SDK vectors', () => {
  let emu: ThingWorxEmulator;
  let edge: RawEdge;

  beforeAll(async () => {
    emu = await startThingWorxEmulator({
      ids: { sessionId: 0x2a, endpointId: 5, requestId: 0x4d },
      state: {
        appKeys: [{ name: 'abc-key', keyId: 'abc', user: 'Administrator' }],
        templates: [
          {
            name: 'T',
            base: 'RemoteThing',
            properties: [
              { name: 'temp', baseType: 'NUMBER', isLogged: true },
              { name: 'downlink', baseType: 'STRING', isRemote: true },
            ],
          },
        ],
        things: ['Dev1', 'A', 'B'].map((name) => ({ name, template: 'T' })),
      },
    });
    edge = await RawEdge.connect(emu);
  });
  afterAll(async () => {
    await edge?.close();
    await emu?.close();
  });

  it('answers the SDK AUTH with the bytes of spec vector 16.2', async () => {
    edge.sendRaw(bytes('auth-appkey-abc'));
    expect((await edge.frame()).toString('hex')).toBe(hex('roundtrip-16-2-AUTH-success-response'));
  });

  it('accepts the SDK BINDs (with and without gateway) with the success response bytes', async () => {
    edge.sendRaw(bytes('bind-dev1'));
    expect((await edge.frame()).toString('hex')).toBe('014000000002000000000000002a0000ff');
    edge.sendRaw(bytes('bind-gateway-A-B'));
    expect((await edge.frame()).toString('hex')).toBe('014000000002000000000000002a0000ff');
    expect(emu.boundThings().sort()).toEqual(['A', 'B', 'Dev1']);
  });

  it('accepts the SDK property PUT and answers with the SDK success bytes', async () => {
    edge.sendRaw(bytes('put-property-temp-21.5'));
    expect((await edge.frame()).toString('hex')).toBe(hex('response-success-empty'));
    expect(emu.propertyValue('Dev1', 'temp')).toBe(21.5);
  });

  it('stores the SDK push with its time and quality, visible through REST and in the history', async () => {
    edge.sendRaw(bytes('push-properties-temp-21.5'));
    expect((await edge.frame()).toString('hex')).toBe('014000000004000000000000002a0000ff');
    expect(emu.history('Dev1', 'temp').at(-1)).toEqual({ value: 21.5, time: 1700000000000, quality: 'GOOD' });
    const r = await rest(emu, 'GET', 'Things/Dev1/Properties/temp');
    expect(r.status).toBe(200);
    expect(r.json.rows).toEqual([{ temp: 21.5 }]);
  });

  it('writes a remote property to the edge with the bytes of spec vector 16.8 and returns when the edge answers', async () => {
    const call = rest(emu, 'PUT', 'Things/Dev1/Properties/downlink', { downlink: 'hello' });
    expect((await edge.frame()).toString('hex')).toBe(hex('roundtrip-16-8-platform-PUT-downlink'));
    edge.sendRaw(bytes('sdk-reply-put-downlink'));
    const r = await call;
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  it('reads a property from the edge with the bytes of spec vector 16.9', async () => {
    const call = emu.requestEdge('Dev1', { method: 'GET', characteristic: 'PROPERTIES', name: 'temp' });
    expect((await edge.frame()).toString('hex')).toBe(hex('roundtrip-16-9-platform-GET-temp'));
    // the edge reply of spec §16 vector 9: {temp: NUMBER 21.5}
    const reply = Buffer.from(
      '01400000004e000000050000002a000005010474656d70000100000001000101403580000000000000',
      'hex',
    );
    edge.sendRaw(reply);
    const r = await call;
    expect(r.code).toBe('SUCCESS');
    expect(r.content?.rows[0]).toEqual([{ baseType: 'NUMBER', value: 21.5 }]);
  });

  it('passes the edge error reason (vector 0x84 "not found", requestId 0x4F) to the REST caller', async () => {
    const call = rest(emu, 'PUT', 'Things/Dev1/Properties/downlink', { downlink: 'x' });
    expect(decodeMessage(await edge.frame()).header.requestId).toBe(0x4f);
    edge.sendRaw(bytes('response-0x84-reason-not-found'));
    const r = await call;
    expect(r.status).toBe(404);
    expect(r.text).toBe('not found');
  });

  it('reassembles the SDK multipart request (3 chunks of 64 bytes) and answers it', async () => {
    edge.sendRaw(bytes('multipart-post-svc-60A/chunk1'));
    edge.sendRaw(bytes('multipart-post-svc-60A/chunk2'));
    edge.sendRaw(bytes('multipart-post-svc-60A/chunk3'));
    const m = decodeMessage(await edge.frame());
    expect(m.header.requestId).toBe(9);
    expect(m.header.code).toBe('NOT_FOUND');
    expect(m.body).toMatchObject({ kind: 'response', reason: 'Service Not Found : [Svc] on Dev1' });
  });

  it('accepts every client message and chunk of the vector file without a protocol error', async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    emu.events.on('protocolError', onError);
    const clientKinds = vectors.filter((v) => v.kind === 'message' || v.kind === 'message-chunk');
    let expectedReplies = 0;
    for (const v of clientKinds) {
      const code = Buffer.from(v.hex, 'hex')[1]!;
      if (v.name.startsWith('roundtrip') && code < 0x40) continue; // platform -> edge messages
      if (v.name.startsWith('auth')) continue; // a second AUTH would start a new session
      edge.sendRaw(Buffer.from(v.hex, 'hex'));
      if (code < 0x40 && !v.name.includes('/chunk')) expectedReplies++;
      if (v.name.endsWith('/chunk3')) expectedReplies++;
    }
    for (let i = 0; i < expectedReplies; i++) await edge.frame();
    const probe = nextEvent(emu, 'rest');
    await rest(emu, 'GET', 'Things/Dev1/Properties/temp');
    await probe;
    emu.events.off('protocolError', onError);
    expect(errors).toEqual([]);
    expect(edge.ws.readyState).toBe(edge.ws.OPEN);
  });
});
