// Reads and checks PEM files before grpc-js sees them, so that a bad file is
// reported by name ("tls.keyFile /etc/palisade/server.key: does not match the
// certificate in tls.certFile ...") instead of as an opaque handshake failure.
//
// Checks: readable; parses (node:crypto); a certificate is inside its validity
// period; the key matches the leaf certificate. Never logs key material.
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export type PemResult<T> = { ok: true; value: T } | { ok: false; error: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function readPemFile(field: string, file: string): PemResult<Buffer> {
  try {
    const buf = readFileSync(file);
    if (buf.length === 0) return { ok: false, error: `${field} ${file}: file is empty` };
    return { ok: true, value: buf };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `${field} ${file}: cannot read (${e.code ?? e.message})` };
  }
}

/** Every certificate in a PEM bundle, leaf first; at least one. */
export function parseCertificates(field: string, file: string, pem: Buffer, nowMs = Date.now()): PemResult<X509Certificate[]> {
  const blocks = pem.toString('utf8').match(PEM_CERT);
  if (!blocks || blocks.length === 0) return { ok: false, error: `${field} ${file}: no PEM certificate (-----BEGIN CERTIFICATE-----) found` };
  const certs: X509Certificate[] = [];
  for (const [i, b] of blocks.entries()) {
    let c: X509Certificate;
    try {
      c = new X509Certificate(b);
    } catch (err) {
      return { ok: false, error: `${field} ${file}: certificate #${i + 1} does not parse (${(err as Error).message})` };
    }
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    if (nowMs < from) return { ok: false, error: `${field} ${file}: certificate #${i + 1} (${oneLine(c.subject)}) is not valid before ${c.validFrom}` };
    if (nowMs > to) return { ok: false, error: `${field} ${file}: certificate #${i + 1} (${oneLine(c.subject)}) expired ${c.validTo}; renew it (palisade certs --force)` };
    certs.push(c);
  }
  return { ok: true, value: certs };
}

export function parsePrivateKey(field: string, file: string, pem: Buffer): PemResult<KeyObject> {
  try {
    return { ok: true, value: createPrivateKey(pem) };
  } catch (err) {
    return { ok: false, error: `${field} ${file}: not a PEM private key (${(err as Error).message})` };
  }
}

export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // a key of another type than the certificate's: not a match
  }
}

/** "CN=a\nO=b" (node's format) -> "CN=a, O=b". */
export function oneLine(subject: string): string {
  return subject.split('\n').filter((s) => s !== '').join(', ');
}
