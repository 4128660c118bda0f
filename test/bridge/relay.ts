/**
 * A TCP relay in front of the ThingWorx emulator that can freeze: it stops passing bytes on its connections (new
 * ones are accepted and hang), as SIGSTOP does to the platform. It counts the connections it accepted and says when
 * none is open.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type ConnectedBridgeOptions, startConnectedBridge } from '../../src/bridge/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { TEMPLATE, templateState } from './emulated.js';
import { tempDir } from './helpers.js';

export interface Relay {
  url: string;
  freeze(): void;
  thaw(): void;
  /** Drops the live connections and refuses new ones (the platform's process gone). */
  kill(): void;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Resolves on the next accepted connection. */
  nextConnection(): Promise<void>;
  /** Resolves once no connection is open. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay to `port`; freeze() holds every byte back on the live connections, thaw() lets them through; kill()
 * drops them and refuses new ones, revive() listens again on the same port.
 */
export async function relay(port: number): Promise<Relay> {
  const live = new Set<[Socket, Socket]>();
  let frozen = false;
  let accepted = 0;
  let onAccept: (() => void)[] = [];
  let onIdle: (() => void)[] = [];
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect(port, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    live.add(pair);
    for (const fn of onAccept.splice(0)) fn();
    const pass = (from: Socket, to: Socket) =>
      from.on('data', (d) => {
        if (!frozen) to.write(d);
      });
    pass(client, upstream);
    pass(upstream, client);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
      if (live.size === 0) for (const fn of onIdle.splice(0)) fn();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  const dropAll = () => {
    for (const [a, b] of live) {
      a.destroy();
      b.destroy();
    }
  };
  return {
    url: `https://127.0.0.1:${address.port}`,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    kill: () => {
      server.close();
      dropAll();
    },
    revive: () => new Promise<void>((r) => server.listen(address.port, '127.0.0.1', r)),
    get accepted() {
      return accepted;
    },
    get open() {
      return live.size;
    },
    nextConnection: () => new Promise<void>((r) => onAccept.push(r)),
    idle: () => (live.size === 0 ? Promise.resolve() : new Promise<void>((r) => onIdle.push(r))),
    close: () =>
      new Promise<void>((r) => {
        onAccept = [];
        onIdle = [];
        dropAll();
        if (!server.listening) r();
        else server.close(() => r());
      }),
  };
}

/**
 * A bridge connected to an emulated ThingWorx (holding `things`) through a relay, tokens not verified, its ping
 * deadline `pingDeadlineMs` (and any other option of `options`); everything is undone by `cleanups` (the bridge
 * stopped without a drain).
 */
export async function relayedBridge(
  cleanups: (() => Promise<unknown> | unknown)[],
  things: string[],
  options: Partial<ConnectedBridgeOptions> & { pingDeadlineMs: number },
) {
  const twx = await startThingWorxEmulator({ state: templateState(things) });
  cleanups.push(() => twx.close());
  const r = await relay(twx.port);
  cleanups.push(r.close);
  const t = tempDir();
  cleanups.push(t.cleanup);
  const bridge = await startConnectedBridge({
    listen: '127.0.0.1:0',
    spoolDir: t.dir,
    thingworxUrl: r.url,
    appKey: twx.appKey,
    ca: readFileSync(twx.caFile, 'utf8'),
    template: TEMPLATE,
    verifyTokens: false,
    ...options,
  });
  cleanups.push(() => bridge.stop({ drainTimeoutMs: 0 }));
  return { twx, relay: r, dir: t.dir, bridge };
}
