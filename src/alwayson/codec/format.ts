/** A readable tree of a decoded message (what the decode command prints for people). Returns text; never prints. */
import type { DecodedMessage, InfoTable, MessageBody, TwValue } from './types.js';

const hex8 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const MAX_TEXT = 200;

function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > MAX_TEXT ? `${q.slice(0, MAX_TEXT)}… (${Buffer.byteLength(s)} bytes)` : q;
}

/** One value on one line, or a nested block for infotables. */
export function formatValue(v: TwValue, indent: string): string {
  switch (v.baseType) {
    case 'NOTHING':
      return 'NOTHING';
    case 'VARIANT':
      return `VARIANT ${formatValue(v.value, indent)}`;
    case 'INFOTABLE':
      return `INFOTABLE\n${formatInfoTable(v.value, `${indent}  `)}`;
    case 'DATETIME': {
      const d = new Date(v.value);
      return `DATETIME ${v.value}${Number.isNaN(d.getTime()) ? '' : ` (${d.toISOString()})`}`;
    }
    case 'LOCATION':
      return `LOCATION lon ${v.value.longitude}, lat ${v.value.latitude}, elev ${v.value.elevation}`;
    case 'BLOB':
    case 'IMAGE':
      return `${v.baseType} ${v.value.length / 2} bytes${v.value.length ? ` ${v.value.slice(0, 64)}${v.value.length > 64 ? '…' : ''}` : ''}`;
    case 'NUMBER':
    case 'INTEGER':
    case 'BOOLEAN':
      return `${v.baseType} ${String(v.value)}`;
    case 'LONG':
    case 'TIMESPAN':
      return `${v.baseType} ${v.value}`;
    default:
      return `${v.baseType} ${quote(v.value)}`;
  }
}

export function formatInfoTable(t: InfoTable, indent: string): string {
  const lines: string[] = [];
  lines.push(`${indent}fields (${t.dataShape.length}):`);
  for (const f of t.dataShape) {
    const aspects = Object.entries(f.aspects).map(([k, a]) => `${k}=${formatValue(a, indent)}`);
    lines.push(
      `${indent}  ${f.name}: ${f.baseType}${f.description ? ` ${quote(f.description)}` : ''}${aspects.length ? ` [${aspects.join(', ')}]` : ''}`,
    );
  }
  lines.push(`${indent}rows (${t.rows.length}):`);
  t.rows.forEach((row, i) => {
    lines.push(`${indent}  [${i}]`);
    row.forEach((v, j) => {
      lines.push(`${indent}    ${t.dataShape[j]?.name ?? `#${j}`} = ${formatValue(v, `${indent}    `)}`);
    });
  });
  return lines.join('\n');
}

function formatBody(b: MessageBody): string[] {
  switch (b.kind) {
    case 'auth':
      return ['auth', ...Object.keys(b.claims).map((k) => `  claim ${k} = ${quote(b.claims[k]!)}`)];
    case 'bind':
    case 'unbind':
      return [
        b.kind,
        `  gateway: ${b.gateway ? `${quote(b.gateway.name)} type ${quote(b.gateway.type)}` : 'none'}`,
        `  names (${b.names.length}): ${b.names.map(quote).join(', ')}`,
      ];
    case 'request':
      return [
        `request ${b.entityType} ${quote(b.entityName)} ${b.characteristic} ${quote(b.name)}`,
        ...Object.keys(b.headers).map((k) => `  header ${k} = ${quote(b.headers[k]!)}`),
        b.params ? `  params: INFOTABLE\n${formatInfoTable(b.params, '    ')}` : '  params: NOTHING',
      ];
    case 'response':
      return [
        'response',
        `  reason: ${b.reason === null ? 'none' : quote(b.reason)}`,
        b.content ? `  content: INFOTABLE\n${formatInfoTable(b.content, '    ')}` : '  content: NOTHING',
      ];
    case 'chunk':
      return [
        `chunk data ${b.data.length / 2} bytes${b.entityType ? ` (entity ${b.entityType} ${quote(b.entityName ?? '')})` : ''}`,
        `  ${b.data.slice(0, 128)}${b.data.length > 128 ? '…' : ''}`,
      ];
  }
}

/** The whole message as indented text. */
export function formatMessage(m: DecodedMessage): string {
  const h = m.header;
  const mp = h.multipart;
  const lines = [
    `${h.code} (${hex8(h.codeValue)})  version ${h.version}  requestId ${h.requestId}  endpointId ${h.endpointId}  sessionId ${h.sessionId}`,
  ];
  if (mp) {
    lines.push(
      mp.chunkId === undefined
        ? `multipart: reassembled from ${mp.chunkCount} chunk(s) of chunk size ${mp.chunkSize}`
        : `multipart: chunk ${mp.chunkId} of ${mp.chunkCount}, chunk size ${mp.chunkSize}`,
    );
  }
  lines.push(...formatBody(m.body));
  if (m.trailing) lines.push(`trailing: ${m.trailing.length / 2} byte(s) after the body: ${m.trailing.slice(0, 64)}`);
  return lines.join('\n');
}
