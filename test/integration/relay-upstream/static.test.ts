// Static upstreams: two fake KubeArmor agents (real grpc-js servers) pulled by
// relay/upstream into a real relay; real feeder.LogService clients of the relay
// receive every alert, log and message exactly once, and the relay events carry the
// upstream identity (nodeId = address, one bootId per connection, seq 1..n).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { until, Watcher, watchersReady } from '../relay/support.js';
import { FakeAgent } from './fake-agent.js';
import { startRig, upstreamConfig, type Rig } from './harness.js';

describe('relay/upstream: static addresses', () => {
  const a = new FakeAgent();
  const b = new FakeAgent();
  let rig: Rig;
  let alerts: Watcher<Alert>;
  let logs: Watcher<Log>;
  let messages: Watcher<Message>;

  before(async () => {
    await a.start();
    await b.start();
    rig = await startRig(upstreamConfig({ addresses: [a.address, b.address] }));
    alerts = new Watcher<Alert>(rig.logStream, 'watchAlerts', 'all');
    logs = new Watcher<Log>(rig.logStream, 'watchLogs', 'system');
    messages = new Watcher<Message>(rig.logStream, 'watchMessages', 'all');
    await watchersReady(rig.relay, 3);
    await until(() => a.watchers === 3 && b.watchers === 3, 'both agents to have 3 streams from the relay');
  });

  after(async () => {
    for (const w of [alerts, logs, messages]) w.close();
    await rig.close();
    a.stop();
    b.stop();
  });

  it('health-checks each agent with a nonce and asks for the streams KubeArmor clients use', () => {
    for (const agent of [a, b]) {
      assert.ok(agent.healthChecks >= 1);
      assert.deepEqual([...agent.filters].sort(), ['alert:all', 'log:all', 'message:all']);
    }
  });

  it('delivers every alert, log and message of both agents to the relay clients exactly once', async () => {
    for (const [agent, node] of [[a, 'node-a'], [b, 'node-b']] as const) {
      for (let i = 0; i < 50; i++) {
        assert.equal(agent.alert({ HostName: node, ContainerID: `c-${node}`, Type: 'MatchedPolicy', PolicyName: 'p', Operation: 'File', Resource: `/etc/${node}/${i}`, Action: 'Block', Result: 'Permission denied', Timestamp: 1n }), 1);
      }
      for (let i = 0; i < 20; i++) agent.log({ HostName: node, Type: 'ContainerLog', Operation: 'Process', Resource: `/bin/${node}-${i}`, ClusterName: 'their-cluster' });
      for (let i = 0; i < 5; i++) agent.message({ HostName: node, Type: 'Info', Message: `hello ${node} ${i}` });
    }
    await until(() => alerts.got.length >= 100 && logs.got.length >= 40 && messages.got.length >= 10, 'all events at the relay clients');
    const resources = alerts.got.map((x) => x.Resource);
    assert.equal(new Set(resources).size, 100);
    for (const node of ['node-a', 'node-b']) for (let i = 0; i < 50; i++) assert.ok(resources.includes(`/etc/${node}/${i}`), `/etc/${node}/${i}`);
    assert.equal(new Set(logs.got.map((x) => x.Resource)).size, 40);
    assert.equal(new Set(messages.got.map((x) => x.Message)).size, 10);
    // an empty ClusterName is stamped with the relay's; a set one is kept
    assert.ok(alerts.got.every((x) => x.ClusterName === 'test-cluster' && x.Action === 'Block' && x.Result === 'Permission denied'));
    assert.ok(logs.got.every((x) => x.ClusterName === 'their-cluster'));
    // nothing more arrives (no duplicates): the relay published exactly what the agents sent
    assert.equal(rig.published.length, 150);
  });

  it('stamps relay events with the upstream identity: nodeId = address, one boot per connection, seq 1..n', () => {
    for (const agent of [a, b]) {
      const evs = rig.published.filter((e) => e.nodeId === agent.address);
      assert.equal(evs.length, 75);
      assert.equal(new Set(evs.map((e) => e.bootId)).size, 1);
      assert.deepEqual(evs.map((e) => e.seq).sort((x, y) => (x < y ? -1 : 1)), Array.from({ length: 75 }, (_, i) => BigInt(i + 1)));
    }
  });

  it('counts per upstream: one connect, no failure, events received by kind and delivered', () => {
    const stats = rig.upstreams.stats();
    assert.deepEqual(stats.map((s) => s.address), [a.address, b.address].sort());
    for (const s of stats) {
      assert.equal(s.state, 'streaming');
      assert.equal(s.connects, 1);
      assert.equal(s.failures, 0);
      assert.deepEqual(s.received, { alert: 50, log: 20, message: 5 });
      assert.equal(s.delivered, 75);
      assert.equal(s.dropped, 0);
      assert.equal(rig.relay.counters.get('palisade_relay_upstream_received_events_total', { upstream: s.address, kind: 'alert' }), 50);
      assert.equal(rig.relay.counters.get('palisade_relay_upstream_connects_total', { upstream: s.address }), 1);
    }
  });
});
