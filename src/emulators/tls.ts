/**
 * TLS material for the emulators: a self-signed certificate for localhost/127.0.0.1/::1 generated at start
 * (EC P-256, fast), or one the user gives. Clients trust it through the CA file (TPX_THINGWORX_CA).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** A file holding the certificate (it is its own CA), for --ca / TPX_THINGWORX_CA. */
  caFile: string;
  /** Removes the temporary directory generateCertificate() made for caFile (absent when the caller chose it). */
  dispose?: () => void;
}

export async function generateCertificate(
  options: { hosts?: string[]; days?: number; dir?: string } = {},
): Promise<TlsMaterial> {
  const { generate } = await import('selfsigned');
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'tpx emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + (options.days ?? 30) * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((h) =>
          /^[\d.]+$|:/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h },
        ),
      },
    ],
  });
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tpx-tls-'));
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, pems.cert, { mode: 0o644 });
  return {
    cert: pems.cert,
    key: pems.private,
    caFile,
    ...(options.dir ? {} : { dispose: () => rmSync(dir, { recursive: true, force: true }) }),
  };
}

/** Loads a certificate and key given by the user. */
export function loadCertificate(certFile: string, keyFile: string): TlsMaterial {
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), caFile: certFile };
}
