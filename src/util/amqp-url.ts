/** The parts of an AMQP broker URL (`amqp://user:pass@host:5672/vhost`, `amqps://…:5671`), read in one place. */

/** AMQP's standard ports by scheme. */
export const AMQP_PORTS: Readonly<Record<string, number>> = { 'amqp:': 5672, 'amqps:': 5671 };

export interface AmqpUrlParts {
  /** `amqp:` or `amqps:` (anything else is returned as given: callers refuse it). */
  protocol: string;
  hostname: string;
  /** The port given, else the scheme's standard one (undefined for another scheme). */
  port: number | undefined;
  /** The virtual host, decoded; '' when the URL names none. */
  vhost: string;
  username: string;
  password: string;
}

/** Parses a broker URL; throws TypeError (from URL) when it is not a URL. */
export function amqpUrlParts(raw: string): AmqpUrlParts {
  const u = new URL(raw.trim());
  return {
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port ? Number(u.port) : AMQP_PORTS[u.protocol],
    vhost: decodeURIComponent(u.pathname.replace(/^\//, '')),
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}
