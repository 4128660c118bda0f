// AlwaysOn codec throughput: encode + decode of one UpdateSubscribedPropertyValues push carrying a typical uplink
// (a ~600-byte JSON property plus six scalar properties, NamedVTQ rows as in vector push-properties-temp-21.5),
// beside JSON.stringify + JSON.parse of the same message model, in the same run. Prints both rates and the ratio.
import { decodeMessage, encodeMessage } from '../dist/alwayson/codec/index.js';
import { createReport } from './report.js';

const report = createReport('codec', 'binary round trips / JSON round trips of the same message model, same run');

const time = 1_700_000_000_000;
const uplink = {
  DevEUI_uplink: {
    Time: '2026-11-25T17:34:35.123+00:00',
    DevEUI: '70B3D5E75E00ABCD',
    FPort: 2,
    FCntUp: 4711,
    ADRbit: 1,
    MType: 4,
    FCntDn: 12,
    payload_hex: '0167010e0268640373275d04650064',
    mic_hex: 'a1b2c3d4',
    Lrcid: '00000201',
    LrrRSSI: -97.0,
    LrrSNR: 7.25,
    SpFact: 7,
    SubBand: 'G1',
    Channel: 'LC2',
    DevLrrCnt: 2,
    Lrrid: '1000ABCD',
    Late: 0,
    LrrLAT: 48.85,
    LrrLON: 2.35,
    Lrrs: { Lrr: [{ Lrrid: '1000ABCD', Chain: 0, LrrRSSI: -97.0, LrrSNR: 7.25, LrrESP: -97.8 }] },
    CustomerID: '100000507',
    ModelCfg: '0',
    InstantPER: 0.0,
    MeanPER: 0.01,
    DevAddr: '04ABCDEF',
    TxPower: 14.0,
    NbTrans: 1,
    Frequency: 868.1,
    DynamicClass: 'A',
  },
};
const json = JSON.stringify(uplink);

const vtq = (name, value) => [
  { baseType: 'STRING', value: name },
  { baseType: 'VARIANT', value },
  { baseType: 'DATETIME', value: time },
  { baseType: 'STRING', value: 'GOOD' },
];
const field = (name, baseType) => ({ name, description: '', baseType, aspects: {} });
const values = {
  dataShape: [
    field('name', 'STRING'),
    field('value', 'VARIANT'),
    field('time', 'DATETIME'),
    field('quality', 'STRING'),
  ],
  rows: [
    vtq('uplink', { baseType: 'JSON', value: json }),
    vtq('temperature', { baseType: 'NUMBER', value: 21.5 }),
    vtq('humidity', { baseType: 'NUMBER', value: 48 }),
    vtq('battery', { baseType: 'NUMBER', value: 3.61 }),
    vtq('rssi', { baseType: 'NUMBER', value: -97 }),
    vtq('fCnt', { baseType: 'INTEGER', value: 4711 }),
    vtq('online', { baseType: 'BOOLEAN', value: true }),
  ],
};
const msg = {
  header: { version: 1, code: 'POST', codeValue: 3, requestId: 4, endpointId: 0, sessionId: 42, multipart: null },
  body: {
    kind: 'request',
    entityType: 'THING',
    entityName: 'lorawan-70B3D5E75E00ABCD',
    characteristic: 'SERVICES',
    name: 'UpdateSubscribedPropertyValues',
    headers: {},
    params: { dataShape: [field('values', 'INFOTABLE')], rows: [[{ baseType: 'INFOTABLE', value: values }]] },
  },
};

function rate(fn, ms = 1500) {
  for (let i = 0; i < 20_000; i++) fn(); // warm up
  globalThis.gc?.();
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

let sink = 0;
const frame = encodeMessage(msg);
const text = JSON.stringify(msg);

const enc = rate(() => {
  sink += encodeMessage(msg).length;
});
const dec = rate(() => {
  sink += decodeMessage(frame).header.requestId;
});
const bin = rate(() => {
  sink += decodeMessage(encodeMessage(msg)).header.requestId;
});
const jsonEnc = rate(() => {
  sink += JSON.stringify(msg).length;
});
const jsonDec = rate(() => {
  sink += JSON.parse(text).header.requestId;
});
const jsonRt = rate(() => {
  sink += JSON.parse(JSON.stringify(msg)).header.requestId;
});

report.note(
  `message: ${frame.length} bytes binary, ${Buffer.byteLength(text)} bytes JSON (uplink property ${json.length} bytes)`,
);
report.figure({ id: 'binary_encode', what: 'binary encode', value: enc, unit: '/s' });
report.figure({ id: 'binary_decode', what: 'binary decode', value: dec, unit: '/s' });
report.figure({
  id: 'binary_round_trip',
  what: 'binary round trip',
  value: bin,
  unit: '/s',
  target: '>= 100000',
  met: bin >= 100_000,
});
report.figure({ id: 'json_stringify', what: 'JSON.stringify', value: jsonEnc, unit: '/s' });
report.figure({ id: 'json_parse', what: 'JSON.parse', value: jsonDec, unit: '/s' });
report.figure({ id: 'json_round_trip', what: 'JSON round trip', value: jsonRt, unit: '/s' });
report.figure({
  id: 'binary_vs_json',
  what: 'ratio binary / JSON round trip',
  value: bin / jsonRt,
  unit: 'x',
  target: '>= 1',
  met: bin >= jsonRt,
  ratio: true,
  digits: 2,
});
report.finish();
if (sink === -1) console.log('');
