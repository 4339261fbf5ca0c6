// grpc-js credentials from PEM files, checked first (pem.ts) so every failure names
// its file. Server: plaintext when certFile is empty; TLS; or mutual TLS when
// requireClientCert is set — then the handshake itself refuses a client without a
// certificate chaining to caFile (grpc-js: requestCert + node's default
// rejectUnauthorized), so no handler ever runs for it; the client sees UNAVAILABLE.
// Client: TLS with caFile as the trust root (system roots when empty), and a client
// certificate when certFile/keyFile are set.
//
// Files are read once, when the credentials are built; replacing certificates
// needs a restart (documented in README.md).
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { TlsFiles } from './config.js';
import { validateTlsFiles } from './config.js';
import { keyMatches, oneLine, parseCertificates, parsePrivateKey, readPemFile, type PemResult } from './pem.js';

export type ServerTls = {
  readonly credentials: ServerCredentials;
  readonly mode: 'plaintext' | 'tls' | 'mtls';
  /** Leaf certificate subject, for the start-up log line; '' in plaintext. */
  readonly subject: string;
};

type Pair = { cert: Buffer; key: Buffer; subject: string };

function loadPair(certField: string, certFile: string, keyField: string, keyFile: string, nowMs: number): PemResult<Pair> {
  const cert = readPemFile(certField, certFile);
  if (!cert.ok) return cert;
  const certs = parseCertificates(certField, certFile, cert.value, nowMs);
  if (!certs.ok) return certs;
  const key = readPemFile(keyField, keyFile);
  if (!key.ok) return key;
  const k = parsePrivateKey(keyField, keyFile, key.value);
  if (!k.ok) return k;
  const leaf = certs.value[0] as (typeof certs.value)[number];
  if (!keyMatches(leaf, k.value)) {
    return { ok: false, error: `${keyField} ${keyFile}: does not match the certificate in ${certField} ${certFile} (${oneLine(leaf.subject)})` };
  }
  return { ok: true, value: { cert: cert.value, key: key.value, subject: oneLine(leaf.subject) } };
}

function loadCa(field: string, file: string, nowMs: number): PemResult<Buffer> {
  const ca = readPemFile(field, file);
  if (!ca.ok) return ca;
  const certs = parseCertificates(field, file, ca.value, nowMs);
  if (!certs.ok) return certs;
  for (const c of certs.value) {
    if (!c.ca) return { ok: false, error: `${field} ${file}: ${oneLine(c.subject)} is not a CA certificate (basicConstraints CA:FALSE)` };
  }
  return ca;
}

/** Server credentials for a listener; `prefix` names the config section in errors. */
export function loadServerCredentials(t: TlsFiles, prefix = 'tls', nowMs = Date.now()): PemResult<ServerTls> {
  const problems = validateTlsFiles(t, prefix);
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  if (t.certFile === '') return { ok: true, value: { credentials: ServerCredentials.createInsecure(), mode: 'plaintext', subject: '' } };
  const pair = loadPair(`${prefix}.certFile`, t.certFile, `${prefix}.keyFile`, t.keyFile, nowMs);
  if (!pair.ok) return pair;
  let ca: Buffer | null = null;
  if (t.caFile !== '') {
    const r = loadCa(`${prefix}.caFile`, t.caFile, nowMs);
    if (!r.ok) return r;
    ca = r.value;
  }
  const credentials = ServerCredentials.createSsl(ca, [{ cert_chain: pair.value.cert, private_key: pair.value.key }], t.requireClientCert);
  return { ok: true, value: { credentials, mode: t.requireClientCert ? 'mtls' : 'tls', subject: pair.value.subject } };
}

export type ClientTlsFiles = {
  /** CA that signed the server's certificate; empty: the system's roots. */
  readonly caFile: string;
  /** Client certificate for mutual TLS; empty: none. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Expected server name when it differs from the dialled host (e.g. dialling 127.0.0.1 with a cert for "relay"). */
  readonly serverName?: string;
};

export function loadChannelCredentials(t: ClientTlsFiles, prefix = 'tls', nowMs = Date.now()): PemResult<ChannelCredentials> {
  const certFile = t.certFile ?? '';
  const keyFile = t.keyFile ?? '';
  if ((certFile === '') !== (keyFile === '')) return { ok: false, error: `${prefix}.certFile/${prefix}.keyFile: set both the client certificate and its key, or neither` };
  let ca: Buffer | null = null;
  if (t.caFile !== '') {
    const r = loadCa(`${prefix}.caFile`, t.caFile, nowMs);
    if (!r.ok) return r;
    ca = r.value;
  }
  let pair: Pair | undefined;
  if (certFile !== '') {
    const r = loadPair(`${prefix}.certFile`, certFile, `${prefix}.keyFile`, keyFile, nowMs);
    if (!r.ok) return r;
    pair = r.value;
  }
  const verify = t.serverName ? { checkServerIdentity: checkNameAs(t.serverName) } : undefined;
  return { ok: true, value: ChannelCredentials.createSsl(ca, pair?.key ?? null, pair?.cert ?? null, verify) };
}


const checkNameAs = (name: string) => (_host: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(name, cert);
