// `palisade certs`: a CA plus server and client certificates for a test or small
// cluster, in one directory:
//   ca.crt ca.key                    the CA (kept across runs; replaced only with --force)
//   server.crt server.key            serverAuth, SANs from --server-names
//   client-<name>.crt/.key           clientAuth, subject CN=<name>, O=<group>
// Idempotent: an existing certificate is kept while it is signed by the current CA,
// matches what was asked (SANs, subject), and stays valid for more than a day;
// otherwise it is re-issued and the reason printed. Keys are written 0600, files
// atomically (temporary file + rename). Exit codes: 0 done, 2 bad input, 1 I/O error.
import { parseArgs } from 'node:util';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkServerName, issueCa, issueLeaf, type Pem, type Subject } from '../../relay/tls/issue.js';

export const summary = 'create a CA and server/client certificates for (mutual) TLS';

const HELP = `usage: palisade certs [options]

Creates (or completes) a certificate directory for the relay's TLS and mutual TLS.

options:
  --out DIR                 output directory (default ./palisade-certs)
  --server-names LIST       comma-separated DNS names and IP addresses for the server
                            certificate (default localhost,127.0.0.1)
  --client NAME[:GROUP]     a client certificate with subject CN=NAME, O=GROUP
                            (default group "palisade-clients"); repeatable. The relay's
                            access config maps CN (or O) to namespaces.
  --days N                  validity of new server/client certificates (default 365)
  --ca-days N               validity of a new CA (default 3650)
  --force                   replace everything, including an existing CA
  -h, --help                this help

files: ca.crt ca.key server.crt server.key client-NAME.crt client-NAME.key
relay: --tls-cert-file DIR/server.crt --tls-key-file DIR/server.key
       --tls-ca-file DIR/ca.crt --tls-require-client-cert true
`;

class UsageError extends Error {}

type Options = {
  readonly out: string;
  readonly serverNames: readonly string[];
  readonly clients: readonly Subject[];
  readonly days: number;
  readonly caDays: number;
  readonly force: boolean;
};

function parseDays(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 36_500) throw new UsageError(`--${flag}: expected a whole number of days 1-36500, got ${JSON.stringify(v)}`);
  return Number(v);
}

function parseOptions(argv: string[]): Options | 'help' {
  let p;
  try {
    p = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'server-names': { type: 'string' },
        client: { type: 'string', multiple: true },
        days: { type: 'string' },
        'ca-days': { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = p.values;
  if (v.help) return 'help';
  const serverNames = (v['server-names'] ?? 'localhost,127.0.0.1').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (serverNames.length === 0) throw new UsageError('--server-names: give at least one DNS name or IP address');
  for (const n of serverNames) {
    const bad = checkServerName(n);
    if (bad) throw new UsageError(`--server-names: ${JSON.stringify(n)} is ${bad}`);
  }
  const clients: Subject[] = [];
  for (const c of v.client ?? []) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?::([A-Za-z0-9][A-Za-z0-9._ -]{0,63}))?$/.exec(c);
    if (!m) throw new UsageError(`--client ${JSON.stringify(c)}: expected NAME or NAME:GROUP (letters, digits, '.', '_', '-'; up to 64 characters; NAME is also the file name)`);
    if (clients.some((x) => x.commonName === m[1])) throw new UsageError(`--client ${m[1]}: given twice`);
    clients.push({ commonName: m[1] as string, organization: m[2] ?? 'palisade-clients' });
  }
  return {
    out: resolve(v.out ?? 'palisade-certs'),
    serverNames,
    clients,
    days: parseDays('days', v.days, 365),
    caDays: parseDays('ca-days', v['ca-days'], 3650),
    force: v.force ?? false,
  };
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function writePair(dir: string, name: string, pem: Pem): void {
  writeAtomic(join(dir, `${name}.key`), pem.key, 0o600);
  writeAtomic(join(dir, `${name}.crt`), pem.cert, 0o644);
}

function readPair(dir: string, name: string): Pem | undefined {
  const c = join(dir, `${name}.crt`);
  const k = join(dir, `${name}.key`);
  if (!existsSync(c) || !existsSync(k)) return undefined;
  return { cert: readFileSync(c, 'utf8'), key: readFileSync(k, 'utf8') };
}

/** Why an existing leaf must be re-issued, or undefined to keep it. */
function staleReason(pem: Pem, ca: X509Certificate, want: { subject: Subject; names?: readonly string[] }): string | undefined {
  let c: X509Certificate;
  try {
    c = new X509Certificate(pem.cert);
  } catch {
    return 'does not parse';
  }
  if (!c.verify(ca.publicKey)) return 'not signed by the current CA';
  if (Date.parse(c.validTo) < Date.now() + 86_400_000) return `expires ${c.validTo}`;
  if (want.names) {
    const have = (c.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')).filter((s) => s !== '').sort();
    const need = [...want.names].sort();
    if (have.join(',') !== need.join(',')) return `names differ (has ${have.join(',') || 'none'})`;
  }
  const subject = `CN=${want.subject.commonName}` + (want.subject.organization ? `\nO=${want.subject.organization}` : '');
  if (c.subject !== subject) return `subject differs (${c.subject.replace(/\n/g, ', ')})`;
  try {
    if (!c.checkPrivateKey(createKey(pem.key))) return 'key does not match';
  } catch {
    return 'key does not parse';
  }
  return undefined;
}

const createKey = (pem: string): KeyObject => createPrivateKey(pem);

export async function run(argv: string[]): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`palisade certs: ${err.message}\nrun 'palisade certs --help' for the options\n`);
      return 2;
    }
    throw err;
  }
  if (o === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const say = (s: string): void => void process.stdout.write(s + '\n');
  try {
    mkdirSync(o.out, { recursive: true, mode: 0o755 });
  } catch (err) {
    process.stderr.write(`palisade certs: --out ${o.out}: cannot create directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`);
    return 1;
  }
  try {
    const caCrt = join(o.out, 'ca.crt');
    const caKey = join(o.out, 'ca.key');
    let ca = o.force ? undefined : readPair(o.out, 'ca');
    if (!o.force && !ca && (existsSync(caCrt) || existsSync(caKey))) {
      process.stderr.write(`palisade certs: ${existsSync(caCrt) ? caCrt : caKey} exists without ${existsSync(caCrt) ? caKey : caCrt}; restore it, or pass --force to make a new CA (every certificate it signed stops being trusted)\n`);
      return 2;
    }
    let caCert: X509Certificate;
    if (ca) {
      try {
        caCert = new X509Certificate(ca.cert);
        if (!caCert.ca) throw new Error('basicConstraints CA:FALSE');
        if (!caCert.checkPrivateKey(createKey(ca.key))) throw new Error(`${caKey} does not match it`);
      } catch (err) {
        process.stderr.write(`palisade certs: ${caCrt}: not a usable CA (${(err as Error).message}); fix it or pass --force to replace it\n`);
        return 2;
      }
      if (Date.parse(caCert.validTo) < Date.now()) {
        process.stderr.write(`palisade certs: ${caCrt}: expired ${caCert.validTo}; pass --force to make a new CA\n`);
        return 2;
      }
      say(`kept    ${caCrt} (${caCert.subject.replace(/\n/g, ', ')}, until ${caCert.validTo})`);
    } else {
      ca = issueCa({ commonName: 'Palisade test CA', organization: 'palisade' }, o.caDays);
      writePair(o.out, 'ca', ca);
      caCert = new X509Certificate(ca.cert);
      say(`created ${caCrt}`);
    }
    const leaves: Array<{ file: string; subject: Subject; usage: 'server' | 'client'; names?: readonly string[] }> = [
      { file: 'server', subject: { commonName: o.serverNames[0] as string, organization: 'palisade' }, usage: 'server', names: o.serverNames },
      ...o.clients.map((s) => ({ file: `client-${s.commonName}`, subject: s, usage: 'client' as const })),
    ];
    for (const l of leaves) {
      const path = join(o.out, `${l.file}.crt`);
      const have = o.force ? undefined : readPair(o.out, l.file);
      const reason = have ? staleReason(have, caCert, l) : 'new';
      if (!reason) {
        say(`kept    ${path}`);
        continue;
      }
      writePair(o.out, l.file, issueLeaf(ca, { subject: l.subject, days: o.days, usage: l.usage, ...(l.names ? { names: l.names } : {}) }));
      say(`${reason === 'new' ? 'created' : `renewed`} ${path}${reason === 'new' ? '' : ` (${reason})`}`);
    }
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`palisade certs: ${e.path ?? o.out}: ${e.code ?? ''} ${e.message}\n`);
    return 1;
  }
}
