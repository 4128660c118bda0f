/**
 * A TCP relay in front of the ThingWorx emulator that can freeze: it stops passing bytes on its connections (new
 * ones are accepted and hang), as SIGSTOP does to the platform. It counts the connections it accepted and says when
 * none is open.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

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
