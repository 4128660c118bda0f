/**
 * Source text evaluated inside each driver's vm context (its own realm: no require, process, fs, network, timers).
 * Only strings cross the boundary: requests go in as JSON text and results come out as JSON text, so no object
 * of the worker's realm (and so no way back to its Function constructor) is reachable from driver code.
 *
 * PRELUDE gives drivers what Actility and TTN codecs commonly use: a small `Buffer` (from/alloc, read/write of
 * integers and floats, hex/base64/utf8 strings), `console` (discarded), `module`/`exports` (for CommonJS-style
 * files), and `context` (Actility's per-DevEUI array, set before each call when the driver uses it).
 */

export const PRELUDE = `
var console = { log: function () {}, info: function () {}, warn: function () {}, error: function () {}, debug: function () {} };
var module = { exports: {} };
var exports = module.exports;
var context = [];
var Buffer = (function () {
  var HEX = '0123456789abcdef';
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function utf8(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.codePointAt(i);
      if (c > 0xffff) i++;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }
  function bytesOf(v, enc) {
    enc = (enc || 'utf8').toLowerCase();
    if (enc === 'hex') {
      var o = [];
      for (var i = 0; i + 1 < v.length; i += 2) {
        var b = parseInt(v.substr(i, 2), 16);
        if (isNaN(b)) break;
        o.push(b);
      }
      return o;
    }
    if (enc === 'base64') {
      var s = v.replace(/[^A-Za-z0-9+/]/g, ''), out = [], bits = 0, n = 0;
      for (var j = 0; j < s.length; j++) {
        bits = (bits << 6) | B64.indexOf(s[j]); n += 6;
        if (n >= 8) { n -= 8; out.push((bits >> n) & 255); }
      }
      return out;
    }
    if (enc === 'ascii' || enc === 'latin1' || enc === 'binary') {
      var a = [];
      for (var k = 0; k < v.length; k++) a.push(v.charCodeAt(k) & 255);
      return a;
    }
    return utf8(v);
  }
  class Buffer extends Uint8Array {
    static from(v, enc) {
      if (typeof v === 'string') v = bytesOf(v, enc);
      else if (v instanceof ArrayBuffer) return new Buffer(v);
      var b = new Buffer(v.length);
      for (var i = 0; i < v.length; i++) b[i] = v[i];
      return b;
    }
    static alloc(n, fill) { var b = new Buffer(n); if (fill !== undefined) b.fill(fill); return b; }
    static allocUnsafe(n) { return new Buffer(n); }
    static isBuffer(b) { return b instanceof Buffer; }
    static byteLength(s, enc) { return typeof s === 'string' ? bytesOf(s, enc).length : s.byteLength; }
    static concat(list, total) {
      var len = 0, i;
      for (i = 0; i < list.length; i++) len += list[i].length;
      var out = new Buffer(total === undefined ? len : total), off = 0;
      for (i = 0; i < list.length && off < out.length; i++) { out.set(list[i].subarray(0, out.length - off), off); off += list[i].length; }
      return out;
    }
    dv() { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
    slice(s, e) { return this.subarray(s, e); }
    equals(o) { if (o.length !== this.length) return false; for (var i = 0; i < o.length; i++) if (o[i] !== this[i]) return false; return true; }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    toString(enc, start, end) {
      var b = this.subarray(start || 0, end === undefined ? this.length : end), s = '', i;
      enc = (enc || 'utf8').toLowerCase();
      if (enc === 'hex') { for (i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15]; return s; }
      if (enc === 'base64') {
        for (i = 0; i < b.length; i += 3) {
          var n = (b[i] << 16) | ((b[i + 1] || 0) << 8) | (b[i + 2] || 0);
          s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
        }
        return s;
      }
      if (enc === 'ascii' || enc === 'latin1' || enc === 'binary') { for (i = 0; i < b.length; i++) s += String.fromCharCode(b[i]); return s; }
      for (i = 0; i < b.length; i++) {
        var c = b[i];
        if (c < 0x80) s += String.fromCharCode(c);
        else if (c < 0xe0) s += String.fromCharCode(((c & 31) << 6) | (b[++i] & 63));
        else if (c < 0xf0) s += String.fromCharCode(((c & 15) << 12) | ((b[++i] & 63) << 6) | (b[++i] & 63));
        else s += String.fromCodePoint(((c & 7) << 18) | ((b[++i] & 63) << 12) | ((b[++i] & 63) << 6) | (b[++i] & 63));
      }
      return s;
    }
    readUIntBE(o, n) { var v = 0; for (var i = 0; i < n; i++) v = v * 256 + this.dv().getUint8(o + i); return v; }
    readUIntLE(o, n) { var v = 0; for (var i = n - 1; i >= 0; i--) v = v * 256 + this.dv().getUint8(o + i); return v; }
    readIntBE(o, n) { var v = this.readUIntBE(o, n); return v >= Math.pow(2, 8 * n - 1) ? v - Math.pow(2, 8 * n) : v; }
    readIntLE(o, n) { var v = this.readUIntLE(o, n); return v >= Math.pow(2, 8 * n - 1) ? v - Math.pow(2, 8 * n) : v; }
  }
  var kinds = [
    ['UInt8', 'Uint8', 1], ['Int8', 'Int8', 1], ['UInt16', 'Uint16', 2], ['Int16', 'Int16', 2],
    ['UInt32', 'Uint32', 4], ['Int32', 'Int32', 4], ['Float', 'Float32', 4], ['Double', 'Float64', 8],
  ];
  kinds.forEach(function (k) {
    var ends = k[2] === 1 ? [''] : ['BE', 'LE'];
    ends.forEach(function (end) {
      var little = end === 'LE';
      var get = 'get' + k[1], set = 'set' + k[1];
      var read = function (o) { return this.dv()[get](o || 0, little); };
      var write = function (v, o) { o = o || 0; this.dv()[set](o, v, little); return o + k[2]; };
      Buffer.prototype['read' + k[0] + end] = read;
      Buffer.prototype['write' + k[0] + end] = write;
      if (k[0].indexOf('UInt') === 0) {
        Buffer.prototype['readUint' + k[0].slice(4) + end] = read;
        Buffer.prototype['writeUint' + k[0].slice(4) + end] = write;
      }
    });
  });
  return Buffer;
})();
`;

/**
 * Finds the codec functions the script defined: globals (TS013 / Actility / TTN v3 / ChirpStack v4), a webpack
 * library named `driver` or `codec`, or `module.exports`; legacy TTN v2 `Decoder(bytes, port)` / `Encoder(obj,
 * port)` and ChirpStack v3 `Decode(fPort, bytes, vars)` / `Encode(fPort, obj, vars)` are wrapped. Defines
 * `__tpx_run()`, which reads `__tpx_in` (JSON text) and returns JSON text.
 */
export const EPILOGUE = `
(function (g) {
  var holders = [g, g.driver, g.codec, module.exports, exports];
  function find(name) {
    for (var i = 0; i < holders.length; i++) {
      var h = holders[i];
      if (h && typeof h[name] === 'function') return h[name].bind(h);
    }
    return undefined;
  }
  var fns = {
    decodeUplink: find('decodeUplink'),
    encodeDownlink: find('encodeDownlink'),
    decodeDownlink: find('decodeDownlink'),
  };
  var ttnDecoder = find('Decoder'), csDecode = find('Decode'), ttnEncoder = find('Encoder'), csEncode = find('Encode');
  if (!fns.decodeUplink && ttnDecoder) fns.decodeUplink = function (i) { return { data: ttnDecoder(i.bytes, i.fPort) }; };
  if (!fns.decodeUplink && csDecode) fns.decodeUplink = function (i) { return { data: csDecode(i.fPort, i.bytes, i.variables || {}) }; };
  if (!fns.encodeDownlink && ttnEncoder) fns.encodeDownlink = function (i) { return { bytes: ttnEncoder(i.data, i.fPort), fPort: i.fPort }; };
  if (!fns.encodeDownlink && csEncode) fns.encodeDownlink = function (i) { return { bytes: csEncode(i.fPort, i.data, i.variables || {}), fPort: i.fPort }; };
  var stringify = JSON.stringify, parse = JSON.parse;
  Object.defineProperty(g, '__tpx_functions', { value: Object.keys(fns).filter(function (k) { return !!fns[k]; }).join(',') });
  Object.defineProperty(g, '__tpx_run', {
    value: function () {
      var req = parse(g.__tpx_in);
      var fn = fns[req.fn];
      if (!fn) return stringify({ missing: req.fn });
      if (req.context) context = req.context;
      var input = req.input;
      if (typeof input.recvTime === 'string') input.recvTime = new Date(input.recvTime);
      var out = fn(input);
      return stringify({ out: out === undefined ? null : out, context: req.context ? context : undefined });
    },
  });
})(this);
`;
