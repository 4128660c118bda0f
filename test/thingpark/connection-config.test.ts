import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/thingpark/api.js';
import {
  buildCreateBody,
  ConnectionFieldsError,
  checkField,
  checkHostName,
  maskConnection,
  mergeForUpdate,
  parseFields,
} from '../../src/thingpark/connection-config.js';

const good = { name: 'plant', hostName: 'twx.example.com:8443', appKey: 'a1b2c3d4-e5f6-7890' };

function problems(opts: Record<string, unknown>): string[] {
  try {
    buildCreateBody(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectionFieldsError);
    expect((err as ConnectionFieldsError).exitCode).toBe(2);
    // The option of each field: the CLI names its flag (--host-name for hostName).
    return (err as ConnectionFieldsError).problems.map(
      (p) => `--${p.field!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    );
  }
  return [];
}

describe('ThingWorx connection fields', () => {
  it('builds the create body with defaults', () => {
    expect(buildCreateBody({ ...good, description: ' lab ' })).toEqual({
      connectorId: 'actility-thingworx-iot',
      name: 'plant',
      active: true,
      configuration: {
        thingTemplateName: 'actilityThingTemplateSF',
        pipeCount: 1,
        description: ' lab ',
        hostName: 'twx.example.com:8443',
        applicationKey: 'a1b2c3d4-e5f6-7890',
      },
    });
    const all = buildCreateBody({
      ...good,
      template: 'myTemplate',
      pipeCount: '255',
      active: 'false',
      createDevices: 'no',
      sendMetadata: 'true',
      sendRawDecodedFormat: '1',
      uplinkTimeValidity: '24h',
      downlinkEnabled: 'off',
      downlinkAsId: 'TWA_100001234.1001.AS',
      downlinkAsKey: '0123456789abcdef0123456789ABCDEF',
      downlinkPort: '223',
      reconnectStrategy: 'CALM',
    });
    expect(all.active).toBe(false);
    expect(all.configuration).toMatchObject({
      pipeCount: 255,
      createDevices: false,
      sendMetadata: true,
      sendRawDecodedFormat: true,
      downlinkEnabled: false,
      downlinkPort: 223,
    });
  });

  it('names each bad or missing field by its flag', () => {
    expect(problems({})).toEqual(['--name', '--host-name', '--app-key']);
    const bad: [string, unknown, string][] = [
      ['name', '   ', '--name'],
      ['name', 'x'.repeat(129), '--name'],
      ['description', 'd'.repeat(1025), '--description'],
      ['hostName', 'https://twx.example.com', '--host-name'],
      ['hostName', 'twx example', '--host-name'],
      ['hostName', 'twx.example.com:70000', '--host-name'],
      ['appKey', 'short', '--app-key'],
      ['appKey', 'has a space in it', '--app-key'],
      ['template', '1bad name', '--template'],
      ['pipeCount', '0', '--pipe-count'],
      ['pipeCount', '256', '--pipe-count'],
      ['pipeCount', 'two', '--pipe-count'],
      ['active', 'maybe', '--active'],
      ['createDevices', 'x', '--create-devices'],
      ['sendMetadata', 'x', '--send-metadata'],
      ['sendRawDecodedFormat', 'x', '--send-raw-decoded-format'],
      ['uplinkTimeValidity', '5 minutes', '--uplink-time-validity'],
      ['downlinkEnabled', 'x', '--downlink-enabled'],
      ['downlinkAsId', 'bad id', '--downlink-as-id'],
      ['downlinkAsKey', 'abc', '--downlink-as-key'],
      ['downlinkPort', '224', '--downlink-port'],
      ['reconnectStrategy', 'FAST', '--reconnect-strategy'],
    ];
    for (const [opt, value, flag] of bad)
      expect(problems({ ...good, [opt]: value }), `${opt}=${value}`).toEqual([flag]);
    expect(problems({ ...good, pipeCount: '0', hostName: 'a b' })).toEqual(['--host-name', '--pipe-count']);
  });

  it('checks one value for prompts', () => {
    expect(checkField('hostName', 'twx:443')).toBeUndefined();
    expect(checkField('hostName', '10.0.0.1:8443')).toBeUndefined();
    expect(checkField('pipeCount', '9000')).toMatch(/1 to 255/);
    expect(checkHostName('twx')).toBeUndefined();
  });
});

describe('update merge', () => {
  const existing: Connection = {
    id: '1101',
    connectorId: 'actility-thingworx-iot',
    name: 'plant',
    active: true,
    state: 'OPENED',
    alarms: [{ message: 'quiet' }],
    configuration: {
      hostName: 'twx.example.com:8443',
      applicationKey: '*****',
      downlinkAsKey: '*****',
      thingTemplateName: 'actilityThingTemplateSF',
      pipeCount: 2,
      createDevices: false,
      reconnectStrategy: 'CALM',
    },
  };

  it('keeps every untouched field, re-sends the secrets, and diffs only what changed', () => {
    const { body, diff, missingSecrets } = mergeForUpdate(existing, parseFields({ pipeCount: '4', name: 'plant' }), {
      applicationKey: 'real-app-key-1',
      downlinkAsKey: '0123456789abcdef0123456789abcdef',
    });
    expect(missingSecrets).toEqual([]);
    expect(body).toEqual({
      connectorId: 'actility-thingworx-iot',
      name: 'plant',
      active: true,
      alarms: [{ message: 'quiet' }],
      configuration: {
        ...existing.configuration,
        applicationKey: 'real-app-key-1',
        downlinkAsKey: '0123456789abcdef0123456789abcdef',
        pipeCount: 4,
      },
    });
    expect(diff).toEqual([{ field: 'configuration.pipeCount', from: 2, to: 4, secret: false }]);
  });

  it('reports the secrets it cannot re-send, and marks a new app key as a change', () => {
    expect(mergeForUpdate(existing, parseFields({}), {}).missingSecrets).toEqual(['applicationKey', 'downlinkAsKey']);
    const r = mergeForUpdate(existing, parseFields({ appKey: 'new-app-key-2' }), {
      downlinkAsKey: '0123456789abcdef0123456789abcdef',
    });
    expect(r.missingSecrets).toEqual([]);
    expect(r.body.configuration.applicationKey).toBe('new-app-key-2');
    expect(r.diff).toEqual([{ field: 'configuration.applicationKey', from: '*****', to: '*****', secret: true }]);
    expect(maskConnection(r.body).configuration.applicationKey).toBe('*****');
  });
});
