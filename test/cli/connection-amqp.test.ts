/**
 * `tpx connection apply --connector amqp` (issue 18): IoT Flow's AMQP connector publishing straight into a tpx
 * fleet's exchange, against the ThingPark emulator in-process: created, updated, unchanged, --dry-run, --json,
 * the password never shown, and the fields checked locally.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { AMQP_CONNECTOR, brokerUrlFields } from '../../src/thingpark/amqp-connection.js';
import { tempConfigHome } from '../helpers/cli.js';
import { deleteConnections } from '../helpers/thingpark.js';

const PASSWORD = 'iotflow-s3cret-pw';
const BROKER = `amqps://iotflow:${PASSWORD}@broker.example.com:5671`;
let emu: ThingParkEmulator;
let home: ReturnType<typeof tempConfigHome>;

beforeAll(async () => {
  emu = await startThingParkEmulator({ openingDelayMs: 0, maxConnections: 20 });
  home = tempConfigHome();
});
afterAll(async () => {
  await emu.close();
  home.cleanup();
});
beforeEach(() => deleteConnections(emu));

async function tpx(argv: string[], env: Record<string, string> = {}) {
  const stdout = new BufferWriter(false);
  const stderr = new BufferWriter(false);
  const app = new App({
    stdout,
    stderr,
    stdinIsTTY: false,
    env: {
      ...home.env,
      TPX_THINGPARK_URL: emu.url,
      TPX_THINGPARK_CLIENT_ID: emu.clientId,
      TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
      ...env,
    },
  });
  const code = await runCli(argv, app);
  expect(stdout.text + stderr.text).not.toContain(PASSWORD);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const apply = ['connection', 'apply', '--connector', 'amqp', '--name', 'fleet-feed', '--fleet-prefix', 'plant7'];

describe('tpx connection apply --connector amqp', () => {
  it('plans, creates, leaves alone and updates, with the fleet exchange and {DevEUI} routing key', async () => {
    const plan = await tpx([...apply, '--broker-url', BROKER, '--dry-run', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({
      action: 'created',
      dryRun: true,
      connection: {
        connectorId: 'actility-amqp-0.9.1-iot',
        name: 'fleet-feed',
        configuration: {
          hostName: 'broker.example.com:5671',
          protocol: 'SSL',
          username: 'iotflow',
          password: '*****',
          exchangeName: 'plant7.uplinks',
          uplinkTopicPattern: '{DevEUI}',
          sendMetadata: false,
          sendRawDecodedFormat: false,
          downlinkEnabled: false,
        },
      },
    });
    expect(emu.connections()).toHaveLength(0);

    const created = await tpx([...apply, '--broker-url', BROKER, '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ action: 'created', connection: { name: 'fleet-feed' } });
    expect(emu.connections()).toHaveLength(1);
    const stored = emu.connections()[0]!;
    expect(stored.connectorId).toBe(AMQP_CONNECTOR.id);
    expect(stored.configuration).toMatchObject({ password: PASSWORD, exchangeName: 'plant7.uplinks' });

    // Again, the broker URL from the environment: nothing differs (the password is masked, so it is no change).
    const again = await tpx([...apply, '--json'], { TPX_CONNECTION_BROKER_URL: BROKER });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'unchanged', diff: [] });
    const text = await tpx(apply.filter((a) => a !== '--json'));
    expect(text.stdout).toBe(`Connection ${stored.id} "fleet-feed" is unchanged.\n`);

    // Another exchange: the diff, the password re-sent from where it came, and nothing sent with --dry-run.
    const puts = () => emu.requests.filter((r) => r.method === 'PUT').length;
    const dry = await tpx([...apply, '--exchange', 'plant7.iotflow', '--dry-run', '--json'], {
      TPX_CONNECTION_BROKER_URL: BROKER,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      action: 'updated',
      dryRun: true,
      id: stored.id,
      diff: [
        { field: 'configuration.exchangeName', from: 'plant7.uplinks', to: 'plant7.iotflow' },
        { field: 'configuration.password', resent: true, source: 'TPX_CONNECTION_BROKER_URL' },
      ],
    });
    expect(puts()).toBe(0);
    const updated = await tpx([...apply, '--exchange', 'plant7.iotflow'], { TPX_CONNECTION_BROKER_URL: BROKER });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('configuration.exchangeName: plant7.uplinks -> plant7.iotflow');
    expect(updated.stdout).toContain(`Updated connection ${stored.id} "fleet-feed"`);
    expect(emu.connections()[0]!.configuration).toMatchObject({ exchangeName: 'plant7.iotflow', password: PASSWORD });
  });

  it('will not overwrite the masked password: an update without the broker URL is refused', async () => {
    expect((await tpx([...apply, '--broker-url', BROKER])).code).toBe(0);
    const r = await tpx([...apply, '--routing-key-pattern', 'x.{DevEUI}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('without its broker password');
    expect(r.stderr).toContain('TPX_CONNECTION_BROKER_URL');
    expect(r.stderr).toContain('is not {DevEUI} alone');
    expect(emu.connections()[0]!.configuration).toMatchObject({ uplinkTopicPattern: '{DevEUI}' });
  });

  it('refuses, naming the flag: a virtual host, a pattern without {DevEUI}, a bad connector, another kind', async () => {
    const vhost = await tpx([...apply, '--broker-url', 'amqp://u:p@b:5672/fleet']);
    expect(vhost.code).toBe(2);
    expect(vhost.stderr).toMatch(/--broker-url names the virtual host "fleet".*UNCONFIRMED/);
    const pattern = await tpx([...apply, '--broker-url', BROKER, '--routing-key-pattern', 'things.uplink']);
    expect(pattern.code).toBe(2);
    expect(pattern.stderr).toContain('--routing-key-pattern must contain {DevEUI}');
    const missing = await tpx(apply);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--broker-url is required');
    expect(missing.stderr).toContain('TPX_CONNECTION_BROKER_URL');
    const kind = await tpx([...apply, '--connector', 'kafka']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--connector must be thingworx or amqp');
    expect((await tpx([...apply, '--broker-url', BROKER])).code).toBe(0);
    const twx = await tpx(['connection', 'apply', '--name', 'fleet-feed', '--connector', 'thingworx'], {
      TPX_THINGWORX_APP_KEY: 'twx-app-key-0123',
    });
    expect(twx.code).toBe(2);
    expect(twx.stderr).toContain('is an actility-amqp-0.9.1-iot connection; apply cannot make it another kind');
  });

  it('reads a broker URL: scheme to protocol, default ports, user and password decoded', () => {
    expect(brokerUrlFields('amqp://a%40b:p%2Fw@10.0.0.5')).toEqual({
      fields: { hostName: '10.0.0.5:5672', protocol: 'TCP', username: 'a@b', password: 'p/w' },
    });
    expect(brokerUrlFields('amqps://h.example/').fields).toEqual({ hostName: 'h.example:5671', protocol: 'SSL' });
    expect(brokerUrlFields('http://h').problem).toMatch(/amqp:\/\/ or amqps:\/\//);
  });
});
