// tpx test driver: fPort 1 = temperature (int16 BE, 0.01 °C), humidity (uint8, 0.5 %), battery (uint16 BE, mV).
// Downlink fPort 10: 0x01 + interval in minutes (uint16 BE); 0x02 + 0/1 = LED off/on.
function decodeUplink(input) {
  if (input.fPort !== 1) return { errors: ['unknown fPort ' + input.fPort], warnings: [] };
  if (input.bytes.length < 5) return { errors: ['payload too short: ' + input.bytes.length + ' bytes'], warnings: [] };
  var b = Buffer.from(input.bytes);
  var data = {
    temperature: b.readInt16BE(0) / 100,
    humidity: b.readUInt8(2) / 2,
    battery: { voltage: b.readUInt16BE(3) / 1000, low: b.readUInt16BE(3) < 3000 },
  };
  var warnings = data.temperature > 60 ? ['temperature above 60 °C'] : [];
  return { data: data, errors: [], warnings: warnings };
}

function encodeDownlink(input) {
  var d = input.data || {};
  if (typeof d.interval === 'number') {
    if (d.interval < 1 || d.interval > 1440) return { errors: ['interval must be 1..1440 minutes'] };
    return { fPort: 10, bytes: [1, (d.interval >> 8) & 255, d.interval & 255], errors: [], warnings: [] };
  }
  if (typeof d.led === 'boolean') return { fPort: 10, bytes: [2, d.led ? 1 : 0], errors: [], warnings: [] };
  return { errors: ['give interval (minutes) or led (true/false)'] };
}

function decodeDownlink(input) {
  if (input.bytes[0] === 1) return { data: { interval: (input.bytes[1] << 8) | input.bytes[2] }, errors: [], warnings: [] };
  if (input.bytes[0] === 2) return { data: { led: input.bytes[1] === 1 }, errors: [], warnings: [] };
  return { errors: ['unknown command ' + input.bytes[0]] };
}
