/** The local RabbitMQ the fleet tests use (`.ci/run` makes sure one answers; elsewhere those tests are skipped). */
import { connect } from 'node:net';

/** Why broker tests are skipped when nothing answers. */
export const NO_BROKER = 'skipped: no RabbitMQ answers at 127.0.0.1:5672';

/** Whether something accepts TCP at 127.0.0.1:5672 within a second. */
export function brokerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: 5672 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
