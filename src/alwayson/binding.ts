/**
 * BIND and UNBIND of many Things (research/alwayson.md §6.2, §14): names go in batches that each fit one chunk
 * (the platform does not reassemble multipart BINDs). A refused batch is split in halves until the refused names
 * are isolated, so one Thing held elsewhere does not keep the others of its batch unbound (the platform refuses a
 * BIND as a whole, and binding a name again on the same session is harmless).
 */
import type { Message } from './codec/types.js';
import { DisconnectedError, RequestFailedError } from './errors.js';
import { bindBatches, isSuccess } from './message-builders.js';

export type SendBind = (kind: 'bind' | 'unbind', names: string[]) => Promise<Message>;

export interface Refusal {
  names: string[];
  status: number | null;
  reason: string | null;
}

/** Binds `names`, adding each bound one to `bound` and removing each refused one. Rejects on transport errors. */
export async function bindAll(
  names: readonly string[],
  chunkSize: number,
  send: SendBind,
  bound: Set<string>,
): Promise<Refusal> {
  const refused: Refusal = { names: [], status: null, reason: null };
  const bindBatch = async (batch: string[]): Promise<void> => {
    const res = await send('bind', batch);
    if (isSuccess(res.header.codeValue)) {
      for (const n of batch) bound.add(n);
      return;
    }
    if (batch.length > 1) {
      const half = batch.length >> 1;
      await Promise.all([bindBatch(batch.slice(0, half)), bindBatch(batch.slice(half))]);
      return;
    }
    bound.delete(batch[0]!);
    refused.names.push(batch[0]!);
    refused.status = res.header.codeValue;
    refused.reason = res.body.kind === 'response' ? res.body.reason : null;
  };
  await Promise.all(bindBatches(names, chunkSize).map(bindBatch));
  return refused;
}

/** Sends UNBIND for `names` in batches. A lost socket is not an error: the platform unbinds on disconnect. */
export async function unbindAll(names: readonly string[], chunkSize: number, send: SendBind): Promise<void> {
  const results = await Promise.allSettled(bindBatches(names, chunkSize).map((batch) => send('unbind', batch)));
  for (const r of results) {
    if (r.status === 'rejected') {
      if (r.reason instanceof DisconnectedError) continue;
      throw r.reason;
    }
    const res = r.value;
    if (!isSuccess(res.header.codeValue)) {
      const reason = res.body.kind === 'response' ? res.body.reason : null;
      throw new RequestFailedError('UNBIND', res.header.codeValue, res.header.code, reason);
    }
  }
}
