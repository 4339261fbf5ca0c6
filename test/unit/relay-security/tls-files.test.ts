// Unit tests for relay/tls credential loading (every failure names its file) and
// for `palisade certs` (idempotence, CA protection, input errors with exit code 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync, unlinkSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChannelCredentials, loadServerCredentials } from '../../../relay/tls/credentials.js';
import { issueCa, issueLeaf } from '../../../relay/tls/issue.js';
import { run } from '../../../cli/commands/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-tls-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ca = issueCa({ commonName: 'unit CA' }, 30);
const server = issueLeaf(ca, { subject: { commonName: 'localhost' }, days: 30, usage: 'server', names: ['localhost', '127.0.0.1'] });
const other = issueLeaf(ca, { subject: { commonName: 'other' }, days: 30, usage: 'client' });
const expired = issueLeaf(ca, { subject: { commonName: 'old' }, days: 1, usage: 'server', names: ['localhost'] }, Date.now() - 10 * 86_400_000);
const put = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const f = {
  ca: put('ca.crt', ca.cert), crt: put('server.crt', server.cert), key: put('server.key', server.key),
  otherKey: put('other.key', other.key), expired: put('expired.crt', expired.cert), expiredKey: put('expired.key', expired.key),
  garbage: put('garbage.crt', 'hello'), empty: put('empty.crt', ''),
};

test('issued certificates: SANs, usages, chain', () => {
  const c = new X509Certificate(server.cert);
  assert.equal(c.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  assert.ok(c.verify(new X509Certificate(ca.cert).publicKey));
  assert.equal(new X509Certificate(ca.cert).ca, true);
  assert.equal(c.ca, false);
  assert.deepEqual(new X509Certificate(other.cert).keyUsage, ['1.3.6.1.5.5.7.3.2']);
});

test('server credentials: plaintext, tls, mtls', () => {
  const plain = loadServerCredentials({ certFile: '', keyFile: '', caFile: '', requireClientCert: false });
  assert.ok(plain.ok && plain.value.mode === 'plaintext');
  const tls = loadServerCredentials({ certFile: f.crt, keyFile: f.key, caFile: '', requireClientCert: false });
  assert.ok(tls.ok && tls.value.mode === 'tls' && tls.value.subject === 'CN=localhost');
  const mtls = loadServerCredentials({ certFile: f.crt, keyFile: f.key, caFile: f.ca, requireClientCert: true });
  assert.ok(mtls.ok && mtls.value.mode === 'mtls');
});

test('server credentials: each failure names the field and the file', () => {
  const base = { certFile: f.crt, keyFile: f.key, caFile: f.ca, requireClientCert: true };
  const cases: Array<[Partial<typeof base>, RegExp]> = [
    [{ certFile: join(dir, 'missing.crt') }, /^tls\.certFile .*missing\.crt: cannot read \(ENOENT\)/],
    [{ certFile: f.garbage }, /^tls\.certFile .*garbage\.crt: no PEM certificate/],
    [{ certFile: f.empty }, /^tls\.certFile .*empty\.crt: file is empty/],
    [{ keyFile: f.otherKey }, /^tls\.keyFile .*other\.key: does not match the certificate in tls\.certFile .*server\.crt \(CN=localhost\)/],
    [{ keyFile: f.crt }, /^tls\.keyFile .*server\.crt: not a PEM private key/],
    [{ certFile: f.expired, keyFile: f.expiredKey }, /^tls\.certFile .*expired\.crt: certificate #1 \(CN=old\) expired .*palisade certs --force/],
    [{ caFile: f.crt }, /^tls\.caFile .*server\.crt: CN=localhost is not a CA certificate/],
    [{ caFile: '' }, /^tls\.requireClientCert: mutual TLS needs tls\.caFile/],
    [{ keyFile: '' }, /^tls\.certFile\/tls\.keyFile: set both/],
  ];
  for (const [over, re] of cases) {
    const r = loadServerCredentials({ ...base, ...over }, 'tls');
    assert.equal(r.ok, false, String(re));
    if (!r.ok) assert.match(r.error, re);
  }
});

test('channel credentials: client cert pair checked the same way', () => {
  assert.ok(loadChannelCredentials({ caFile: f.ca }).ok);
  assert.ok(loadChannelCredentials({ caFile: f.ca, certFile: f.crt, keyFile: f.key }).ok);
  const r = loadChannelCredentials({ caFile: f.ca, certFile: f.crt, keyFile: f.otherKey }, 'client');
  assert.ok(!r.ok && /^client\.keyFile .*other\.key: does not match/.test(r.error));
  const half = loadChannelCredentials({ caFile: f.ca, certFile: f.crt });
  assert.ok(!half.ok && /set both/.test(half.error));
});

async function certs(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    const code = await run(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

test('palisade certs: creates, keeps, renews; never replaces a CA without --force', async () => {
  const out = join(dir, 'certs');
  const first = await certs(['--out', out, '--client', 'team-a', '--client', 'ops:admins', '--days', '10']);
  assert.equal(first.code, 0, first.err);
  for (const n of ['ca', 'server', 'client-team-a', 'client-ops']) {
    assert.ok(existsSync(join(out, `${n}.crt`)) && existsSync(join(out, `${n}.key`)), n);
    assert.equal(statSync(join(out, `${n}.key`)).mode & 0o777, 0o600, `${n}.key mode`);
  }
  const ops = new X509Certificate(readFileSync(join(out, 'client-ops.crt')));
  assert.equal(ops.subject, 'CN=ops\nO=admins');
  const caBefore = readFileSync(join(out, 'ca.crt'), 'utf8');
  const serverBefore = readFileSync(join(out, 'server.crt'), 'utf8');

  const second = await certs(['--out', out, '--client', 'team-a']);
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /kept +.*ca\.crt/);
  assert.match(second.out, /kept +.*server\.crt/);
  assert.match(second.out, /kept +.*client-team-a\.crt/);
  assert.equal(readFileSync(join(out, 'server.crt'), 'utf8'), serverBefore);

  const third = await certs(['--out', out, '--server-names', 'relay.example,10.1.2.3']);
  assert.equal(third.code, 0, third.err);
  assert.match(third.out, /renewed .*server\.crt \(names differ/);
  assert.equal(readFileSync(join(out, 'ca.crt'), 'utf8'), caBefore);
  assert.equal(new X509Certificate(readFileSync(join(out, 'server.crt'))).subjectAltName, 'DNS:relay.example, IP Address:10.1.2.3');

  unlinkSync(join(out, 'ca.key'));
  const noKey = await certs(['--out', out]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.err, /ca\.crt exists without .*ca\.key.*--force/);
  assert.equal(readFileSync(join(out, 'ca.crt'), 'utf8'), caBefore);

  const forced = await certs(['--out', out, '--force']);
  assert.equal(forced.code, 0, forced.err);
  assert.notEqual(readFileSync(join(out, 'ca.crt'), 'utf8'), caBefore);
  const newCa = new X509Certificate(readFileSync(join(out, 'ca.crt')));
  assert.ok(new X509Certificate(readFileSync(join(out, 'server.crt'))).verify(newCa.publicKey));
  // a client certificate of the old CA is re-issued on the next run that names it
  const again = await certs(['--out', out, '--client', 'team-a']);
  assert.match(again.out, /renewed .*client-team-a\.crt \(not signed by the current CA\)/);
});

test('palisade certs: bad input exits 2 and names the option', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--server-names', 'bad_name!'], /--server-names: "bad_name!" is not a DNS name/],
    [['--server-names', ','], /--server-names: give at least one/],
    [['--client', '../evil'], /--client "\.\.\/evil": expected NAME or NAME:GROUP/],
    [['--client', 'a', '--client', 'a'], /--client a: given twice/],
    [['--days', '0'], /--days: expected a whole number of days/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = await certs(['--out', join(dir, 'never'), ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
  }
  assert.equal(existsSync(join(dir, 'never')), false);
  const help = await certs(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--server-names LIST/);
});
