/**
 * The one body reader: a request body or stdin, read whole as UTF-8 text with a size limit. The caller says what
 * "too large" is for it (a 413 of an emulator, a usage error of the CLI).
 */

/** Reads `source` to its end as UTF-8 text; past `maxBytes` it stops reading and throws `tooLarge(maxBytes)`. */
export async function readText(
  source: AsyncIterable<unknown>,
  maxBytes = Number.POSITIVE_INFINITY,
  tooLarge: (limit: number) => Error = (limit) => new RangeError(`The input is larger than ${limit} bytes.`),
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of source) {
    const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    size += b.length;
    // Leaving the loop ends the stream's iterator, which destroys a Node stream: nothing more is read.
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
