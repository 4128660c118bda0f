/**
 * The one table helper (gh's tableprinter): on a terminal, aligned columns sized to its width, the widest column
 * truncated with "…" until the row fits, headers in bold; when stdout is not a terminal, tab-separated rows with
 * no header, colour or truncation, for `cut` and `awk`. One object is shown as key: value lines (`keyValues`).
 * No box characters anywhere.
 */

export type Cell = string | number | boolean | null | undefined;

export interface TableStyle {
  /** stdout is a terminal: align and fit; otherwise tab-separated plain rows. */
  tty: boolean;
  /** Terminal width in columns (0 or undefined: 80). */
  width?: number;
  /** Styles the header cells (bold on a colour terminal). */
  head?: (text: string) => string;
  /** Per column, the width below which it is never cut (default: 5, or its header's length if longer). */
  minWidths?: (number | undefined)[];
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Length of a text as shown (ANSI colour codes do not count). */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '';
  // A cell is one line: newlines and tabs would break both the alignment and the tab-separated form.
  return String(c).replace(/[\t\r\n]+/g, ' ');
}

/** Cuts a text to `width` visible characters, ending with "…" when it was longer (colour dropped when cut). */
export function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  const plain = text.replace(ANSI, '');
  if (width <= 1) return '…'.slice(0, width);
  return `${plain.slice(0, width - 1)}…`;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

const GAP = 2;
/** A column is never cut below this (or its header's length, if shorter). */
const MIN_WIDTH = 5;

/** Column widths that fit `total` columns: the widest column loses a character until the row fits. */
export function fitWidths(natural: number[], total: number, minimum: number[] = []): number[] {
  const widths = [...natural];
  const gaps = GAP * Math.max(0, widths.length - 1);
  let over = widths.reduce((a, b) => a + b, 0) + gaps - total;
  while (over > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      const floor = Math.min(natural[i]!, minimum[i] ?? MIN_WIDTH);
      if (widths[i]! > floor && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]! -= 1;
    over -= 1;
  }
  return widths;
}

/** The table's lines, without a trailing newline. */
export function renderTable(head: string[], rows: Cell[][], style: TableStyle): string {
  const body = rows.map((r) => head.map((_, i) => cellText(r[i])));
  if (!style.tty) return body.map((r) => r.map((c) => c.replace(ANSI, '')).join('\t')).join('\n');
  const natural = head.map((h, i) => Math.max(h.length, ...body.map((r) => visibleLength(r[i]!))));
  const widths = fitWidths(
    natural,
    style.width || 80,
    head.map((h, i) => style.minWidths?.[i] ?? Math.max(MIN_WIDTH, h.length)),
  );
  const line = (cells: string[], styleCell?: (t: string) => string) =>
    cells
      .map((c, i) => {
        const cut = truncate(c, widths[i]!);
        const shown = styleCell ? styleCell(cut) : cut;
        return i === cells.length - 1 ? shown : padEnd(shown, widths[i]!);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const bold = style.head ?? ((t: string) => t);
  return [line(head, bold), ...body.map((r) => line(r))].join('\n');
}

/**
 * One object as `key: value` lines (values aligned after the longest key); piped, `key<TAB>value`. Long values
 * are cut to the terminal width on a terminal.
 */
export function renderKeyValues(rows: [string, Cell][], style: TableStyle): string {
  const pairs = rows.map(([k, v]) => [k, cellText(v)] as const);
  if (!style.tty) return pairs.map(([k, v]) => `${k}\t${v.replace(ANSI, '')}`).join('\n');
  const keyWidth = Math.max(0, ...pairs.map(([k]) => k.length)) + 1;
  const room = Math.max(10, (style.width || 80) - keyWidth - 1);
  return pairs.map(([k, v]) => `${padEnd(`${k}:`, keyWidth)} ${truncate(v, room)}`.trimEnd()).join('\n');
}
