import { describe, expect, it } from 'vitest';
import { runExplain } from '../../src/cli/commands/explain.js';
import { createTestContext } from '../../src/cli/context.js';
import { say } from '../../src/cli/phrases.js';
import { explainText } from '../../src/thingworx/explain.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx } from '../helpers/run.js';

const BIND =
  'Unable to restart connection THINGWORX with id 289: Could not bind things: Error trying to process message: Binding failed, see server log for more information V1BindMessage [header=V1MessageHeader [messageType=10, requestId=21794, endpointId=-1, sessionId=-1, flags=0], gatewayName=null, gatewayType=null, names=[AlertHistoryStream, AlwaysOnReporting, 0018B20000000B20, opc_1, opc_2]]';
const DISPATCH =
  'Unable to open connection THINGWORX with id 301: Unable to dispatch [ uri = /Resources/EntityServices/Services/GetEntityList/]: Entity EntityServices does not exist or is not yet associated with a Thing';

describe('explainText', () => {
  it('recognises the two errors of the reference document', () => {
    const b = explainText(BIND);
    expect(b.recognised).toBe(true);
    expect(b.explanations[0]).toMatchObject({
      id: 'bind-failed',
      fix: /Last in wins/,
      details: { connectionId: 289, names: 5, devices: 1 },
    });
    expect(b.explanations[0]!.cause).toMatch(/connection ghost/);
    const d = explainText(DISPATCH);
    expect(d.explanations[0]).toMatchObject({
      id: 'entity-not-visible',
      details: { entity: 'EntityServices', service: 'GetEntityList' },
    });
    expect(d.explanations[0]!.fix).toMatch(/EntityServices.*Visibility tab select the Composer organization/);
    expect(d.explanations[0]!.fix).toMatch(/add GetEntityList/);
  });

  it('recognises ThingWorx texts and tpx codes', () => {
    const cases: [string, string, RegExp][] = [
      ['Not authorized for ServiceInvoke on CreateThing in EntityServices', 'service-denied', /add CreateThing/],
      ['Not authorized for Create in Things', 'design-time-denied', /Design Time tab/],
      ['Authentication failed: invalid or expired application key', 'app-key', /Expiration Date in the future/],
      ['error: TPX_BIND_REJECTED ThingWorx refused to bind 3 Thing(s)', 'bind-failed', /Last in wins/],
      ['Error: self-signed certificate in certificate chain', 'tls-untrusted', /--ca/],
      [
        'write EPROTO 40C7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number',
        'tls-missing',
        /SSL\/TLS enabled/,
      ],
      ['tlsv1 alert protocol version', 'tls-version', /TLS v1\.2/],
      ['connect ECONNREFUSED 10.0.0.1:443', 'unreachable', /host name and port/],
      ['Entity Not Found : [actilityThingTemplateSF]', 'template-missing', /import-template/],
      ['ApplicationKey Is Not Allowed As A URL Parameter', 'appkey-in-url', /appKey header/],
      ['pipeCount must be 1..255', 'pipe-count', /1 to 255/],
    ];
    for (const [text, id, fix] of cases) {
      const r = explainText(text);
      expect(
        r.explanations.map((e) => e.id),
        text,
      ).toContain(id);
      // The words the CLI prints: src/cli says the phrases that name flags and commands.
      expect(say(r.explanations.find((e) => e.id === id)!.fix), text).toMatch(fix);
    }
  });

  it('recognises tpx output pasted back: a check line and a --json error document', () => {
    const line =
      "✗ CreateThing allowed  The application key's user may not execute CreateThing on EntityServices (ServiceInvoke).";
    expect(explainText(line).explanations[0]).toMatchObject({ id: 'service-denied', fix: /add CreateThing/ });
    const doc = JSON.stringify({
      error: {
        code: 'TPX_TWX_TIMEOUT',
        message: 'ThingWorx at https://x did not answer in time.',
        fix: 'Check the host.',
      },
    });
    expect(explainText(doc).explanations[0]).toMatchObject({ id: 'tpx_twx_timeout', fix: 'Check the host.' });
    const known = JSON.stringify({
      error: { code: 'TPX_AUTH_FAILED', message: 'ThingWorx refused the application key.' },
    });
    expect(explainText(known).explanations[0]).toMatchObject({ id: 'app-key' });
  });

  it('the cause says more than the title: never the same sentence twice (CreateThing denied, a pasted error)', () => {
    for (const text of [
      'Not authorized for ServiceInvoke on CreateThing in EntityServices',
      'Unable to dispatch [ uri = /Resources/EntityServices/Services/CreateThing/]: Not authorized for ServiceInvoke on CreateThing in EntityServices',
      JSON.stringify({ error: { code: 'TPX_X', message: 'Something broke.', fix: 'Mend it.' } }),
    ]) {
      const r = explainText(text);
      expect(r.explanations.length, text).toBeGreaterThan(0);
      for (const e of r.explanations) expect(e.cause, text).not.toBe(e.title);
    }
    expect(
      explainText('Not authorized for ServiceInvoke on CreateThing in EntityServices').explanations[0],
    ).toMatchObject({ title: 'CreateThing not allowed', fix: /add CreateThing/ });
  });

  it('an unknown text says so and suggests tpx thingworx check', () => {
    const r = explainText('the coffee machine is empty');
    expect(r).toMatchObject({ recognised: false, explanations: [] });
    expect(say(r.hint)).toMatch(/tpx thingworx check/);
  });
});

describe('tpx explain', () => {
  it('reads the text from the arguments (unquoted words too)', async () => {
    const h = tempConfigHome();
    const r = await runTpx(['explain', ...DISPATCH.split(' ')], { env: h.env });
    h.cleanup();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/EntityServices not visible/);
    expect(r.stdout).toMatch(/^fix: {3}In Composer → Permissions → Entities/m);
  });

  it('reads stdin, prints JSON with --json', async () => {
    const h = tempConfigHome();
    const r = await runTpx(['explain', '--json'], { env: h.env, input: `${BIND}\n` });
    h.cleanup();
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.recognised).toBe(true);
    expect(doc.explanations[0].id).toBe('bind-failed');
  });

  it("recognises tpx's own messages pasted without their code: the bridge's log lines and cause words", async () => {
    const cases: [string, string][] = [
      [
        'warn  ThingWorx pipe 0 down (ThingWorx went silent (no frame, no pong within the deadline)): ThingWorx said nothing for 5004 ms, not even a pong (deadline 5000 ms): the platform is frozen or the network path is dead.',
        'TPX_ALWAYSON_DISCONNECTED',
      ],
      // the same line as written since durations have one syntax, and by older versions' log.ts ("5.0 s")
      [
        'ThingWorx pipe 0 down: ThingWorx said nothing for 5s, not even a pong (deadline 5s)',
        'TPX_ALWAYSON_DISCONNECTED',
      ],
      [
        'ThingWorx pipe 0: ThingWorx said nothing for 480ms, not even a pong (deadline 500ms)',
        'TPX_ALWAYSON_DISCONNECTED',
      ],
      [
        'ThingWorx pipe 0: ThingWorx said nothing for 5.0 s, not even a pong (deadline 5.0 s)',
        'TPX_ALWAYSON_DISCONNECTED',
      ],
      [
        'Could not open the AlwaysOn WebSocket to wss://127.0.0.1:41809/Thingworx/WS: Opening handshake has timed out',
        'TPX_ALWAYSON_CONNECT',
      ],
      [
        'warn  rejected 503 spool_full 70B3D57ED0000001: The spool is full (3 reports waiting for ThingWorx).',
        'TPX_QUEUE_FULL',
      ],
      [
        'error: The ThingPark token endpoint at 127.0.0.1:35437 did not answer within 3 s (getting an access token).',
        'TPX_HTTP_TIMEOUT',
      ],
      [
        'error: The ThingPark token endpoint at 127.0.0.1:35437 did not answer within 3s (getting an access token).',
        'TPX_HTTP_TIMEOUT',
      ],
      [
        'warn  pushes failing: push to X failed: ThingWorx at 127.0.0.1:41809 did not answer within 1500ms (calling POST …)',
        'TPX_HTTP_TIMEOUT',
      ],
      [
        'PUT Things/X/Services/UpdateSubscribedPropertyValues: no answer from ThingWorx within 10s.',
        'TPX_ALWAYSON_TIMEOUT',
      ],
      [
        'PUT Things/X/Services/UpdateSubscribedPropertyValues: no answer from ThingWorx within 10000 ms.',
        'TPX_ALWAYSON_TIMEOUT',
      ],
      [
        'error bind check: Cannot reach ThingWorx at https://127.0.0.1:41809 (UND_ERR_DESTROYED).',
        'TPX_TWX_UNREACHABLE',
      ],
      [
        "error: Cannot create the spool directory /tmp/afile: EEXIST: file already exists, mkdir '/tmp/afile'",
        'TPX_SPOOL_OPEN',
      ],
      ['spool_unwritable', 'TPX_QUEUE_STORAGE'],
      ['ping_timeout', 'TPX_ALWAYSON_DISCONNECTED'],
      ['{"ready":false,"reason":"pipe_down"}', 'TPX_ALWAYSON_DISCONNECTED'],
      ['thingworx_down', 'TPX_ALWAYSON_DISCONNECTED'],
    ];
    for (const [text, code] of cases) {
      const t = createTestContext({ json: true });
      await runExplain(t.ctx, [text]);
      const doc = JSON.parse(t.stdout.text);
      expect(doc.recognised, text).toBe(true);
      expect(doc.explanations.map((e: { title: string }) => e.title).join(' | '), text).toContain(`${code}:`);
    }
  });

  it('unknown text: says so and suggests the check; empty input is a usage error', async () => {
    const t = createTestContext();
    await runExplain(t.ctx, ['nothing', 'known']);
    expect(t.stdout.text).toMatch(/Not recognised/);
    expect(t.stdout.text).toMatch(/tpx thingworx check/);
    const e = createTestContext();
    await expect(runExplain(e.ctx, [], async () => '  \n')).rejects.toMatchObject({ code: 'TPX_USAGE' });
  });
});
