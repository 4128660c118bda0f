/**
 * Who holds the Things another connector took, for a bridge's `things.taken` (its `holderOf` option): `tpx bridge`
 * with an administrator's key, and the sandbox's own bridge with its emulator's.
 */
import type { LivenessOptions } from '../thingworx/check-sessions.js';
import type { IO } from './io.js';

/** Where a bridge's ThingWorx is and the keys it holds: its connector key, and an administrator's to ask with. */
export interface HolderConnection {
  thingworxUrl: string;
  /** The bridge's (connector) key: its name tells this key's other connector from another key's. */
  appKey: string;
  /** An administrator's key: listing AlwaysOn sessions is an administrator's service. */
  adminKey: string;
  ca?: string | undefined;
  insecure: boolean;
  pipeCount: number;
  /** Each request's total time (ms); default the REST client's. */
  timeoutMs?: number;
  /** How live sessions are told from ghosts, as `tpx thingworx check` tells them (default: by connections). */
  liveness?: LivenessOptions;
}

/** A bridge's `holderOf`, and what closes its client once the bridge stopped. */
export interface BridgeHolders {
  holderOf(names: string[]): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * The bridge's `holderOf`: the sessions an administrator lists, in a few words (`holdersText`); undefined when they
 * cannot be listed, `--verbose` says why. No spinner: the bridge's status line (or the sandbox's table) owns the
 * terminal.
 */
export async function bridgeHolders(io: Pick<IO, 'debug'>, c: HolderConnection): Promise<BridgeHolders> {
  const { thingworxRest } = await import('./clients.js');
  const { holdersOfKey, holdersText } = await import('../thingworx/check-sessions.js');
  const rest = (appKey: string) =>
    thingworxRest({
      url: c.thingworxUrl,
      appKey,
      ...(c.ca ? { ca: c.ca } : {}),
      insecure: c.insecure,
      ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
    });
  const admin = rest(c.adminKey);
  // The connector key's own client asks its name (which tells this key's other connector from another key's).
  const own = rest(c.appKey);
  const lookup = holdersOfKey({ own, appKey: c.appKey, admin, pipeCount: c.pipeCount, liveness: c.liveness });
  const holderOf = async (names: string[]): Promise<string | undefined> => {
    try {
      const held = await lookup(names, { askBound: false });
      if (!held.some((h) => h.sessionsListed))
        io.debug("holder unknown: the administrator's key could not list the sessions");
      return holdersText(held);
    } catch (err) {
      io.debug(`holder unknown: ${(err as Error).message}`);
      return undefined;
    }
  };
  return {
    holderOf,
    close: async () => {
      await admin.close();
      await own.close();
    },
  };
}
