// Issues X.509 certificates for a test or small cluster: a self-signed CA, server
// certificates (serverAuth, SANs for DNS names and IP addresses) and client
// certificates (clientAuth, subject CN = client name, O = group) for mutual TLS.
//
// Keys are RSA 2048 made by node's native crypto (fast); certificates are built and
// signed (SHA-256) with node-forge, because node:crypto can parse X.509 but not
// sign it. Output is PEM: certificates as CERTIFICATE, keys as PKCS#8 PRIVATE KEY.
// Nothing here touches the filesystem (cli/commands/certs.ts does).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export type Pem = { readonly cert: string; readonly key: string };

export type Subject = { readonly commonName: string; readonly organization?: string };

const DAY_MS = 86_400_000;

function newKey(): { priv: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { priv: forge.pki.privateKeyFromPem(privateKey), pub: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey, pem: privateKey };
}

function attrs(s: Subject): forge.pki.CertificateField[] {
  const out: forge.pki.CertificateField[] = [{ name: 'commonName', value: s.commonName }];
  if (s.organization) out.push({ name: 'organizationName', value: s.organization });
  return out;
}

function base(pub: forge.pki.PublicKey, subject: Subject, days: number, nowMs: number): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f; // positive INTEGER
  c.serialNumber = serial.toString('hex');
  // Back-date a little so that clocks a few minutes apart accept a fresh certificate.
  c.validity.notBefore = new Date(nowMs - 5 * 60_000);
  c.validity.notAfter = new Date(nowMs + days * DAY_MS);
  c.setSubject(attrs(subject));
  return c;
}

export function issueCa(subject: Subject, days: number, nowMs = Date.now()): Pem {
  const k = newKey();
  const c = base(k.pub, subject, days, nowMs);
  c.setIssuer(attrs(subject));
  c.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  c.sign(k.priv, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: k.pem };
}

export type LeafOptions = {
  readonly subject: Subject;
  readonly days: number;
  readonly usage: 'server' | 'client';
  /** Server: DNS names and IP addresses for subjectAltName. */
  readonly names?: readonly string[];
};

export function issueLeaf(ca: Pem, o: LeafOptions, nowMs = Date.now()): Pem {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const k = newKey();
  const c = base(k.pub, o.subject, o.days, nowMs);
  c.setIssuer(caCert.subject.attributes);
  const alt = (o.names ?? []).map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  const ext: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: o.usage === 'server', clientAuth: o.usage === 'client' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (alt.length > 0) ext.push({ name: 'subjectAltName', altNames: alt });
  c.setExtensions(ext);
  c.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: k.pem };
}

/** A DNS name or an IP address acceptable in subjectAltName; undefined when fine, else why not. */
export function checkServerName(n: string): string | undefined {
  if (isIP(n)) return undefined;
  if (n.length > 253) return 'longer than 253 characters';
  if (!/^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(n)) {
    return 'not a DNS name (letters, digits, hyphens, dots; optional leading "*.") or an IP address';
  }
  return undefined;
}
