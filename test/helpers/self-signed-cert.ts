// A throwaway TLS identity for local HTTPS fakes, made by the machine's openssl at test time so no key
// is ever committed. Node's type stripping can load this file directly (the fleet benchmark does).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SelfSignedCert {
  readonly cert: string;
  readonly key: string;
}

/** An EC P-256 certificate for `localhost` and 127.0.0.1, valid one day. */
export function makeSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-cert-'));
  try {
    const keyPath = path.join(dir, 'key.pem');
    const certPath = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
