/** Listening for both emulators: one error, with its data, when the address cannot be had. */
import type { Server } from 'node:net';
import { TpxError } from '../errors.js';

/**
 * Listens on host:port (0: a free port). Rejects with TPX_EMULATOR_LISTEN naming the emulator, the address and the
 * system's code; the fix is a phrase the CLI words (the port is in use, or the address is not this machine's).
 */
export function listenOn(
  server: Server,
  host: string,
  port: number,
  emulator: 'ThingWorx' | 'ThingPark',
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new TpxError(
          'TPX_EMULATOR_LISTEN',
          `The ${emulator} emulator cannot listen on ${host}:${port}: ${err.code ?? err.message}.`,
          {
            fix: { id: 'emulator-listen', inUse: err.code === 'EADDRINUSE' },
            details: { host, port, code: err.code },
            cause: err,
          },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
}
