/**
 * IoT Flow as a fleet's direct source (issue 18): what `tpx connection apply --connector amqp` configures (the
 * exchange, and the routing key from its pattern) is what a `tpx bridge --queue` consumes. A message published as
 * IoT Flow's AMQP connector publishes it (the DevEUI_uplink document, no tpx headers, no tunnel token) reaches
 * ThingWorx. Needs the RabbitMQ at 127.0.0.1:5672; skipped, saying so, without one. Random prefix, deleted after.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetNames } from '../../../src/bridge/fleet/types.js';
import { startThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';
import { AMQP_CONNECTOR } from '../../../src/thingpark/amqp-connection.js';
import { buildAmqpCreateBody } from '../../../src/thingpark/connection-config.js';
import { brokerAnswers } from '../../helpers/broker.js';
import { TpxProcess, tempConfigHome } from '../../helpers/cli.js';
import { TEMPLATE, templateState } from '../emulated.js';

const BROKER = 'amqp://guest:guest@127.0.0.1:5672';
const hasBroker = await brokerAnswers();

describe.skipIf(!hasBroker)(
  `IoT Flow's AMQP connector feeding a fleet${hasBroker ? '' : ' (skipped: no RabbitMQ answers at 127.0.0.1:5672)'}`,
  () => {
    const prefix = `tpxtest-${randomBytes(4).toString('hex')}`;
    const names = fleetNames(prefix);
    const home = tempConfigHome();
    let bridge: TpxProcess | undefined;
    let close: (() => Promise<void>) | undefined;

    afterAll(async () => {
      await bridge?.kill('SIGTERM');
      await close?.();
      const amqp = await import('amqplib');
      const c = await amqp.connect(BROKER);
      const ch = await c.createChannel();
      for (const q of [names.queue(0), names.queue(1), `${prefix}.dead`]) await ch.deleteQueue(q).catch(() => {});
      await ch.deleteExchange(names.uplinks).catch(() => {});
      await ch.deleteExchange(names.status).catch(() => {});
      await c.close();
      home.cleanup();
    });

    it('a DevEUI_uplink published to the configured exchange with the configured routing key is pushed', async () => {
      const twx = await startThingWorxEmulator({ state: templateState([]) });
      close = () => twx.close();
      const ca = join(home.dir, 'ca.pem');
      writeFileSync(ca, readFileSync(twx.caFile));
      bridge = new TpxProcess(
        [
          'bridge',
          '--queue',
          BROKER,
          '--fleet-queues',
          '2',
          '--fleet-prefix',
          prefix,
          '--bridge-id',
          'iotflow-test',
          '--listen',
          '127.0.0.1:0',
          '--spool-dir',
          join(home.dir, 'spool'),
          '--json',
          '--verbose',
        ],
        {
          env: {
            ...home.env,
            TPX_THINGWORX_URL: twx.restUrl,
            TPX_THINGWORX_APP_KEY: twx.appKey,
            TPX_THINGWORX_CA: ca,
            TPX_AS_ID: 'iotflow.as',
            TPX_AS_KEY: '0123456789abcdef0123456789abcdef',
            TPX_TEMPLATE: TEMPLATE,
          },
        },
      );
      await bridge.waitFor(/"event":"fleet\.connected"/);

      // The connection tpx would create for this fleet, and a message as IoT Flow publishes it through that.
      const body = buildAmqpCreateBody({
        name: 'fleet-feed',
        brokerHost: 'mq.example.com:5671',
        brokerProtocol: 'SSL',
        exchange: names.uplinks,
      });
      const exchange = String(body.configuration[AMQP_CONNECTOR.keys.exchange]);
      const pattern = String(body.configuration[AMQP_CONNECTOR.keys.uplinkPattern]);
      const devEui = '70B3D57E0000AB01';
      const doc = {
        DevEUI_uplink: {
          Time: new Date().toISOString(),
          DevEUI: devEui,
          FPort: 2,
          FCntUp: 7,
          payload_hex: '0102',
          CustomerID: '100000507',
          Late: 0,
        },
      };
      const amqp = await import('amqplib');
      const c = await amqp.connect(BROKER);
      const ch = await c.createConfirmChannel();
      ch.publish(exchange, pattern.replace('{DevEUI}', devEui), Buffer.from(JSON.stringify(doc)), {
        contentType: 'application/json',
        persistent: true,
      });
      await ch.waitForConfirms();
      await c.close();

      await bridge.waitFor(new RegExp(`"event":"push\\.acked"[^\\n]*"thing":"${devEui}"[^\\n]*"kind":"uplink"`));
      expect(exchange).toBe(`${prefix}.uplinks`);
      expect(pattern).toBe('{DevEUI}');
    }, 60_000);
  },
);
