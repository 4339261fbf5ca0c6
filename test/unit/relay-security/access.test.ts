// Unit tests for relay/access: config parsing, authorize() decisions, narrow(), and
// the event scope predicate. The integration test (test/integration/relay-security)
// covers the same over real mutual TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { accessConfigFromDocument, defaultAccessConfig, sha256Hex, type AccessConfig } from '../../../relay/access/config.js';
import { createAccess, type CallLike } from '../../../relay/access/access.js';
import { allows, scopeFilter, type Scope } from '../../../relay/access/scope.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { Alert, Message } from '../../../proto/gen/feeder/kubearmor.js';
import type { RelayEvent } from '../../../relay/event.js';

const TOKEN_A = 'token-for-team-a-0123456789';
const doc = {
  tenants: [
    { name: 'team-a', namespaces: ['a', 'a2'], commonNames: ['team-a'], tokens: [TOKEN_A] },
    { name: 'team-b', namespaces: ['b'], commonNames: ['team-b'], tokenSha256: [sha256Hex('token-for-team-b-0123456789')] },
    { name: 'ops', namespaces: ['*'], organizations: ['admins'] },
  ],
};

function config(): AccessConfig {
  const r = accessConfigFromDocument(doc, 'access.yaml');
  assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
  return r.value;
}

function call(opts: { auth?: string[]; cn?: string; o?: string[] }): CallLike {
  const md = new Metadata();
  for (const a of opts.auth ?? []) md.add('authorization', a);
  const subject = opts.cn === undefined ? undefined : ({ CN: opts.cn, O: opts.o } as unknown as PeerCertificate['subject']);
  return {
    metadata: md,
    getAuthContext: () => (subject ? { transportSecurityType: 'ssl', sslPeerCertificate: { subject, fingerprint256: 'AA' } as PeerCertificate } : {}),
  };
}

const ev = (ns: string, kind: 'alert' | 'message' = 'alert'): RelayEvent => ({
  nodeId: 'n', bootId: 'b', seq: 1n, enriched: true, count: 1, receivedAt: 0n,
  body: kind === 'alert' ? { $case: 'alert', value: Alert.create({ NamespaceName: ns }) } : { $case: 'message', value: Message.create({}) },
});

test('config: every problem is reported with file and path', () => {
  const r = accessConfigFromDocument({
    tenants: [
      { name: 'x', namespaces: ['Bad_NS'], commonNames: ['x'] },
      { name: 'x', namespaces: [], tokens: ['short'] },
      { name: 'y', namespaces: ['*', 'a'], colour: 'red' },
    ],
    extra: 1,
  }, 'access.yaml');
  assert.equal(r.ok, false);
  const p = r.ok ? [] : r.problems;
  const want = [
    'access.yaml: extra: unknown field',
    'access.yaml: tenants[0].namespaces[0]: "Bad_NS" is not a namespace name',
    'access.yaml: tenants[1].name: tenant "x" defined twice',
    'access.yaml: tenants[1].namespaces: list at least one namespace',
    'access.yaml: tenants[1].tokens[0]: a bearer token must have at least 16 characters',
    'access.yaml: tenants[2].colour: unknown field',
    'access.yaml: tenants[2].namespaces: "*" already means every namespace',
    'access.yaml: tenants[2]: give at least one of commonNames',
  ];
  for (const w of want) assert.ok(p.some((x) => x.startsWith(w)), `missing problem "${w}" in:\n${p.join('\n')}`);
});

test('access off: everyone sees everything', () => {
  const a = createAccess(defaultAccessConfig());
  const r = a.authorize(call({}));
  assert.ok(r.ok);
  assert.equal(r.scope.all, true);
});

test('authorize: certificate CN, organization and bearer token map to namespaces', () => {
  const a = createAccess(config());
  const byCn = a.authorize(call({ cn: 'team-a' }));
  assert.ok(byCn.ok && !byCn.scope.all);
  assert.deepEqual([...byCn.scope.namespaces].sort(), ['a', 'a2']);
  assert.equal(byCn.identity, 'CN=team-a');
  const byToken = a.authorize(call({ auth: [`Bearer ${TOKEN_A}`] }));
  assert.ok(byToken.ok && !byToken.scope.all);
  assert.deepEqual([...byToken.scope.namespaces].sort(), ['a', 'a2']);
  const byTokenB = a.authorize(call({ auth: ['bearer token-for-team-b-0123456789'] }));
  assert.ok(byTokenB.ok && !byTokenB.scope.all);
  assert.deepEqual([...byTokenB.scope.namespaces], ['b']);
  const both = a.authorize(call({ cn: 'team-b', auth: [`Bearer ${TOKEN_A}`] }));
  assert.ok(both.ok && !both.scope.all);
  assert.deepEqual([...both.scope.namespaces].sort(), ['a', 'a2', 'b']);
  const ops = a.authorize(call({ cn: 'alice', o: ['admins'] }));
  assert.ok(ops.ok);
  assert.equal(ops.scope.all, true);
  assert.deepEqual(ops.scope.tenants, ['ops']);
});

test('authorize: refusals carry the right status and are counted', () => {
  const counters = createCounters();
  const a = createAccess(config(), counters);
  const cases: Array<[CallLike, Status, string]> = [
    [call({}), Status.UNAUTHENTICATED, 'no_identity'],
    [call({ auth: ['Bearer not-a-known-token-xxxxxxxx'] }), Status.UNAUTHENTICATED, 'unknown_token'],
    [call({ cn: 'team-a', auth: ['Bearer not-a-known-token-xxxxxxxx'] }), Status.UNAUTHENTICATED, 'unknown_token'],
    [call({ auth: ['Basic dXNlcjpwYXNz'] }), Status.UNAUTHENTICATED, 'bad_token'],
    [call({ auth: [`Bearer ${TOKEN_A}`, `Bearer ${TOKEN_A}`] }), Status.UNAUTHENTICATED, 'bad_token'],
    [call({ cn: 'mallory', o: ['palisade-clients'] }), Status.PERMISSION_DENIED, 'no_tenant'],
  ];
  for (const [c, code, reason] of cases) {
    const r = a.authorize(c);
    assert.equal(r.ok, false, reason);
    if (!r.ok) assert.equal(r.error.code, code, `${reason}: ${r.error.details}`);
    assert.ok(counters.get('palisade_relay_access_denied_total', { reason }) >= 1, reason);
  }
  const denied = a.authorize(call({ cn: 'mallory' }));
  assert.ok(!denied.ok && denied.error.details.includes('CN=mallory is not mapped'));
});

test('narrow: a request inside the scope narrows it, outside is PERMISSION_DENIED', () => {
  const a = createAccess(config());
  const r = a.authorize(call({ cn: 'team-a' }));
  assert.ok(r.ok);
  const same = a.narrow(r.scope, []);
  assert.ok(same.ok && same.scope === r.scope);
  const one = a.narrow(r.scope, ['a2']);
  assert.ok(one.ok && !one.scope.all);
  assert.deepEqual([...one.scope.namespaces], ['a2']);
  const bad = a.narrow(r.scope, ['a', 'b', 'kube-system']);
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, Status.PERMISSION_DENIED);
  assert.match(bad.error.details, /namespaces b, kube-system not allowed .*allowed: a, a2/);
  const all: Scope = { all: true, tenants: ['ops'] };
  const opsNarrow = a.narrow(all, ['b']);
  assert.ok(opsNarrow.ok && !opsNarrow.scope.all && opsNarrow.scope.namespaces.has('b'));
});

test('scope predicate: only listed namespaces; no-namespace events only for "*"', () => {
  const s: Scope = { all: false, tenants: ['team-a'], namespaces: new Set(['a']) };
  assert.equal(allows(s, ev('a')), true);
  assert.equal(allows(s, ev('b')), false);
  assert.equal(allows(s, ev('')), false);
  assert.equal(allows(s, ev('', 'message')), false);
  const f = scopeFilter(s);
  assert.deepEqual(['a', 'b', '', 'a'].map((ns) => f({ ev: ev(ns) })), [true, false, false, true]);
  const all: Scope = { all: true, tenants: [] };
  assert.equal(allows(all, ev('', 'message')), true);
  assert.equal(scopeFilter(all)({ ev: ev('zzz') }), true);
});

test('hooks: one decision per call, counted once; fail closed; next admission runs only when authorised', async () => {
  const { createAccessHooks } = await import('../../../relay/access/hooks.js');
  const counters = createCounters();
  let nextCalls = 0;
  const hooks = createAccessHooks(createAccess(config(), counters), () => {
    nextCalls++;
    return nextCalls > 1 ? { code: Status.RESOURCE_EXHAUSTED, details: 'full' } : undefined;
  });
  const anon = call({});
  assert.equal(hooks.namespacesOf(anon)?.size, 0, 'an unauthorised caller sees nothing');
  assert.equal(hooks.admit(anon)?.code, Status.UNAUTHENTICATED);
  assert.equal(hooks.admit(anon)?.code, Status.UNAUTHENTICATED);
  assert.equal(counters.get('palisade_relay_access_denied_total', { reason: 'no_identity' }), 1, 'counted once per call');
  assert.equal(nextCalls, 0);
  const a = call({ cn: 'team-a' });
  assert.deepEqual([...(hooks.namespacesOf(a) ?? [])].sort(), ['a', 'a2']);
  assert.equal(hooks.admit(a), undefined);
  assert.equal(nextCalls, 1);
  const ops = call({ cn: 'x', o: ['admins'] });
  assert.equal(hooks.namespacesOf(ops), undefined, '"*" means no namespace restriction');
  assert.equal(hooks.admit(ops)?.code, Status.RESOURCE_EXHAUSTED, 'the server\'s own limit still applies');
});
