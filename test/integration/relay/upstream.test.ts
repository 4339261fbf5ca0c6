// `upstream.addresses` wired through the relay: a KubeArmor-style agent (a real
// feeder.LogService server) is pulled by the relay and its alerts reach the relay's
// own karmor-style clients; the config takes --upstream repeated or comma-separated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { loadRelayConfig } from '../../../relay/config.js';
import { FakeAgent } from '../relay-upstream/fake-agent.js';
import { startRelay, until, Watcher, watchersReady } from './support.js';

test('the relay pulls a KubeArmor agent given in upstream.addresses', async () => {
  const agent = new FakeAgent();
  await agent.start();
  const { relay, addrs } = await startRelay({ throttle: { enabled: false, collapseWindowMs: 0 }, upstream: { addresses: [agent.address] } });
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
  await watchersReady(relay, 1);
  await until(() => agent.streams.alert.size > 0, 'relay subscribed to the agent');
  agent.alert({ HostName: 'ka-node', PolicyName: 'ka-policy', Operation: 'Process', Resource: '/bin/ls', Action: 'Block', Type: 'MatchedPolicy' });
  await until(() => w.got.length === 1, 'agent alert relayed');
  assert.equal(w.got[0]!.PolicyName, 'ka-policy');
  assert.equal(w.got[0]!.HostName, 'ka-node');
  w.close();
  await relay.stop(3000);
  agent.stop();
});

test('upstream addresses from flags, env and file; discovery needs Kubernetes', () => {
  const r = loadRelayConfig({ flags: { 'upstream-addresses': ['10.0.0.1:32767', '10.0.0.2:32767,10.0.0.3:32767'] } });
  assert.ok(r.ok);
  assert.deepEqual(r.value.upstream.addresses, ['10.0.0.1:32767', '10.0.0.2:32767', '10.0.0.3:32767']);
  const e = loadRelayConfig({ env: { PALISADE_RELAY_UPSTREAM_ADDRESSES: 'a:1,nope' } });
  assert.ok(!e.ok);
  assert.match(`${e.problems[0]!.source}: ${e.problems[0]!.field}: ${e.problems[0]!.message}`, /^env PALISADE_RELAY_UPSTREAM_ADDRESSES: upstream.addresses: expected host:port .*"nope"/);
  const d = loadRelayConfig({ flags: { 'upstream-discovery': 'true' } });
  assert.ok(!d.ok);
  assert.equal(d.problems[0]!.field, 'upstream.discovery');
});
