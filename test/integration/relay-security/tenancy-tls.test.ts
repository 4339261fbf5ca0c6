// Mutual TLS and tenancy over real grpc-js on loopback: certificates made by
// `palisade certs`, server credentials from relay/tls, admission from relay/access,
// the relay's own feeder.LogService / palisade.v1 Watch implementations.
//   - with mTLS on, a client with no certificate, or one from another CA, is refused
//     in the handshake (UNAVAILABLE) and never reaches a handler;
//   - a tenant sees exactly its namespaces' alerts; an admin group sees all;
//   - asking for another namespace is PERMISSION_DENIED; an unmapped identity is
//     PERMISSION_DENIED; a missing or unknown bearer token is UNAUTHENTICATED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status as Status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { run as certs } from '../../../cli/commands/certs.js';
import { loadChannelCredentials, loadServerCredentials } from '../../../relay/tls/credentials.js';
import { issueCa, issueLeaf } from '../../../relay/tls/issue.js';
import { accessConfigFromDocument } from '../../../relay/access/config.js';
import { createAccess } from '../../../relay/access/access.js';
import { LogServiceClient, type Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { WatchClient, WatchRequest, type WatchEvent } from '../../../proto/gen/palisade/v1/watch.js';
import { alertIn, startLogStreamServer, waitSubscribers, type LogStreamServer } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-mtls-'));
const f = (n: string): string => join(dir, n);
const TOKEN_B = 'team-b-token-0123456789abcdef';
const access = (() => {
  const r = accessConfigFromDocument({
    tenants: [
      { name: 'team-a', namespaces: ['ns-a'], commonNames: ['team-a'] },
      { name: 'team-b', namespaces: ['ns-b'], tokens: [TOKEN_B] },
      { name: 'ops', namespaces: ['*'], organizations: ['admins'] },
    ],
  }, 'test-access');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.value;
})();

let mtls: LogStreamServer;
let tls: LogStreamServer;
const clients: Array<{ close(): void }> = [];

before(async () => {
  const silent = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    const code = await certs(['--out', dir, '--client', 'team-a', '--client', 'mallory', '--client', 'alice:admins']);
    assert.equal(code, 0);
  } finally {
    process.stdout.write = silent;
  }
  // a well-formed client certificate from a CA the relay does not trust
  const rogueCa = issueCa({ commonName: 'rogue CA' }, 5);
  const rogue = issueLeaf(rogueCa, { subject: { commonName: 'team-a' }, days: 5, usage: 'client' });
  writeFileSync(f('rogue.crt'), rogue.cert);
  writeFileSync(f('rogue.key'), rogue.key);

  const sm = loadServerCredentials({ certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt'), requireClientCert: true });
  assert.ok(sm.ok, sm.ok ? '' : sm.error);
  mtls = await startLogStreamServer(sm.value.credentials, (c) => createAccess(access, c));
  const st = loadServerCredentials({ certFile: f('server.crt'), keyFile: f('server.key'), caFile: '', requireClientCert: false });
  assert.ok(st.ok, st.ok ? '' : st.error);
  tls = await startLogStreamServer(st.value.credentials, (c) => createAccess(access, c));
});

after(async () => {
  for (const c of clients) c.close();
  await mtls?.close();
  await tls?.close();
  rmSync(dir, { recursive: true, force: true });
});

function creds(client?: string): ChannelCredentials {
  const r = loadChannelCredentials(client ? { caFile: f('ca.crt'), certFile: f(`${client}.crt`), keyFile: f(`${client}.key`) } : { caFile: f('ca.crt') });
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

function logClient(port: number, client?: string): LogServiceClient {
  const c = new LogServiceClient(`127.0.0.1:${port}`, creds(client));
  clients.push(c);
  return c;
}

/** Reads a stream until `last(item)` or an error; bounded by a 20 s safety stop. */
function collect<T>(stream: ClientReadableStream<T>, last: (t: T) => boolean): Promise<{ items: T[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const items: T[] = [];
    const done = (error?: ServiceError): void => {
      clearTimeout(timer);
      stream.cancel();
      resolve(error ? { items, error } : { items });
    };
    const timer = setTimeout(() => done({ code: Status.DEADLINE_EXCEEDED, details: 'test safety stop', message: 'test safety stop' } as ServiceError), 20_000);
    stream.on('data', (t: T) => {
      items.push(t);
      if (last(t)) done();
    });
    stream.on('error', (e: ServiceError) => {
      if (e.code !== Status.CANCELLED) done(e);
    });
  });
}

const MIX = (): ReturnType<typeof alertIn>[] => [
  alertIn('ns-a', 'a-1'), alertIn('ns-b', 'b-1'), alertIn('', 'host-1'), alertIn('kube-system', 'k-1'), alertIn('ns-a', 'a-2'), alertIn('ns-b', 'b-2'), alertIn('ns-a', 'end'),
];

test('mTLS: a client without a certificate is refused in the handshake', async () => {
  const r = await collect(logClient(mtls.port).watchAlerts({ Filter: 'all' }), () => true);
  assert.equal(r.error?.code, Status.UNAVAILABLE, r.error?.details);
  const health = await new Promise<ServiceError | null>((resolve) => logClient(mtls.port).healthCheck({ nonce: 7 }, (err) => resolve(err)));
  assert.equal(health?.code, Status.UNAVAILABLE);
  assert.equal(mtls.hub.subscribers, 0);
  assert.equal(mtls.counters.total('palisade_relay_access_denied_total'), 0, 'the handler never ran');
});

test('mTLS: a certificate from another CA is refused in the handshake', async () => {
  const r = await collect(logClient(mtls.port, 'rogue').watchAlerts({ Filter: 'all' }), () => true);
  assert.equal(r.error?.code, Status.UNAVAILABLE, r.error?.details);
  assert.equal(mtls.hub.subscribers, 0);
});

test('mTLS tenancy: team-a sees exactly ns-a, the admins group sees everything', async () => {
  const a = collect(logClient(mtls.port, 'client-team-a').watchAlerts({ Filter: 'all' }), (x: Alert) => x.PolicyName === 'end');
  const ops = collect(logClient(mtls.port, 'client-alice').watchAlerts({ Filter: 'policy' }), (x: Alert) => x.PolicyName === 'end');
  await waitSubscribers(mtls.hub, 2);
  mtls.hub.publish(MIX());
  const [ra, rops] = await Promise.all([a, ops]);
  assert.equal(ra.error, undefined, ra.error?.details);
  assert.deepEqual(ra.items.map((x) => `${x.NamespaceName}/${x.PolicyName}`), ['ns-a/a-1', 'ns-a/a-2', 'ns-a/end']);
  assert.equal(rops.error, undefined, rops.error?.details);
  assert.deepEqual(rops.items.map((x) => x.PolicyName), ['a-1', 'b-1', 'host-1', 'k-1', 'a-2', 'b-2', 'end']);
});

test('mTLS tenancy: another namespace, or an unmapped identity, is PERMISSION_DENIED', async () => {
  const watch = new WatchClient(`127.0.0.1:${mtls.port}`, creds('client-team-a'));
  clients.push(watch);
  const other = await collect(watch.events(WatchRequest.fromPartial({ namespaces: ['ns-b'] })), () => true);
  assert.equal(other.error?.code, Status.PERMISSION_DENIED);
  assert.match(other.error?.details ?? '', /ns-b/);
  const mallory = await collect(logClient(mtls.port, 'client-mallory').watchAlerts({ Filter: 'all' }), () => true);
  assert.equal(mallory.error?.code, Status.PERMISSION_DENIED);
  assert.match(mallory.error?.details ?? '', /CN=mallory.* is not mapped to any namespace/);
  // the allowed namespace through palisade.v1 Watch works and is filtered the same way
  const own = collect(watch.events(WatchRequest.fromPartial({ namespaces: ['ns-a'] })), (e: WatchEvent) => e.event?.$case === 'alert' && e.event.value.PolicyName === 'end');
  await waitSubscribers(mtls.hub, 1);
  mtls.hub.publish(MIX());
  const r = await own;
  assert.equal(r.error, undefined, r.error?.details);
  assert.deepEqual(r.items.map((e) => (e.event?.$case === 'alert' ? e.event.value.PolicyName : '?')), ['a-1', 'a-2', 'end']);
});

test('TLS + bearer token: team-b sees ns-b; no token or an unknown one is UNAUTHENTICATED', async () => {
  const md = (t: string): Metadata => {
    const m = new Metadata();
    m.set('authorization', `Bearer ${t}`);
    return m;
  };
  const none = await collect(logClient(tls.port).watchAlerts({ Filter: 'all' }), () => true);
  assert.equal(none.error?.code, Status.UNAUTHENTICATED);
  const wrong = await collect(logClient(tls.port).watchAlerts({ Filter: 'all' }, md('not-the-token-0123456789')), () => true);
  assert.equal(wrong.error?.code, Status.UNAUTHENTICATED);
  const b = collect(logClient(tls.port).watchAlerts({ Filter: 'all' }, md(TOKEN_B)), (x: Alert) => x.PolicyName === 'b-2');
  await waitSubscribers(tls.hub, 1);
  tls.hub.publish(MIX());
  const rb = await b;
  assert.equal(rb.error, undefined, rb.error?.details);
  assert.deepEqual(rb.items.map((x) => `${x.NamespaceName}/${x.PolicyName}`), ['ns-b/b-1', 'ns-b/b-2']);
  assert.equal(tls.counters.get('palisade_relay_access_denied_total', { reason: 'no_identity' }), 1);
  assert.equal(tls.counters.get('palisade_relay_access_denied_total', { reason: 'unknown_token' }), 1);
});
