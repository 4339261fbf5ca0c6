// Reconnection: an agent that is not there yet is retried with back-off (failures
// counted, bounded delay); an agent that dies and comes back on the same address is
// reconnected (new bootId, seq from 1) and its later events reach the relay's
// clients; an agent that ends its streams cleanly, or answers HealthCheck with the
// wrong nonce, is treated as a failed session too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { until, Watcher, watchersReady } from '../relay/support.js';
import { FakeAgent } from './fake-agent.js';
import { startRig, upstreamConfig, type Rig } from './harness.js';

const failuresOf = (rig: Rig, address: string): number => rig.upstreams.stats().find((s) => s.address === address)?.failures ?? -1;
const statsOf = (rig: Rig, address: string) => {
  const s = rig.upstreams.stats().find((x) => x.address === address);
  assert.ok(s, `stats for ${address}`);
  return s;
};

describe('relay/upstream: reconnect', () => {
  let rig: Rig;
  let alerts: Watcher<Alert>;
  let agent = new FakeAgent();
  let port = 0;

  before(async () => {
    // reserve a free port, then leave it empty: the upstream starts before its agent
    port = await agent.start();
    agent.stop();
    rig = await startRig(upstreamConfig({ addresses: [`127.0.0.1:${port}`] }));
    alerts = new Watcher<Alert>(rig.logStream, 'watchAlerts', 'all');
    await watchersReady(rig.relay, 1);
  });

  after(async () => {
    alerts.close();
    await rig.close();
    agent.stop();
  });

  it('retries an unreachable agent with back-off, counting each failure, and connects once it is up', async () => {
    const address = `127.0.0.1:${port}`;
    await until(() => failuresOf(rig, address) >= 3, '3 failed attempts');
    const before = statsOf(rig, address);
    assert.equal(before.connects, 0);
    assert.match(before.lastError ?? '', /HealthCheck/);
    assert.ok(rig.relay.counters.get('palisade_relay_upstream_failures_total', { upstream: address, reason: 'health_check_unavailable' }) >= 3);
    agent = new FakeAgent();
    await agent.start(port);
    await until(() => agent.watchers === 3, 'the relay to open its 3 streams on the agent');
    assert.equal(statsOf(rig, address).connects, 1);
    agent.alert({ Resource: '/first', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.length >= 1, 'the first alert');
    assert.equal(alerts.got[0]?.Resource, '/first');
  });

  it('reconnects to an agent that crashed and restarted on the same address; later events arrive', async () => {
    const address = `127.0.0.1:${port}`;
    const boot1 = statsOf(rig, address).bootId;
    const failures = failuresOf(rig, address);
    agent.stop();
    await until(() => failuresOf(rig, address) > failures, 'the session to fail');
    agent = new FakeAgent();
    await agent.start(port);
    await until(() => agent.watchers === 3 && statsOf(rig, address).connects === 2, 'a second session');
    for (let i = 0; i < 10; i++) agent.alert({ Resource: `/after-restart/${i}`, Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.length >= 11, '10 alerts after the restart');
    assert.deepEqual(alerts.got.slice(1).map((a) => a.Resource), Array.from({ length: 10 }, (_, i) => `/after-restart/${i}`));
    const s = statsOf(rig, address);
    assert.notEqual(s.bootId, boot1);
    const second = rig.published.filter((e) => e.bootId === s.bootId);
    assert.deepEqual(second.map((e) => e.seq), Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    assert.equal(s.received.alert, 11);
  });

  it('treats streams ended by the agent as a failed session and reconnects', async () => {
    const address = `127.0.0.1:${port}`;
    const connects = statsOf(rig, address).connects;
    agent.endStreams();
    await until(() => statsOf(rig, address).connects === connects + 1 && agent.watchers === 3, 'a new session after the streams ended');
    assert.ok(rig.relay.counters.total('palisade_relay_upstream_failures_total') > 0);
    const ended = ['alert', 'log', 'message'].some((k) => rig.relay.counters.get('palisade_relay_upstream_failures_total', { upstream: address, reason: `${k}_stream_ended` }) > 0);
    assert.ok(ended, 'failure counted with reason <kind>_stream_ended');
    agent.alert({ Resource: '/after-end', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.some((a) => a.Resource === '/after-end'), 'the alert after the new session');
  });

  it('refuses an agent whose HealthCheck does not echo the nonce, and counts why', async () => {
    const address = `127.0.0.1:${port}`;
    const connects = statsOf(rig, address).connects;
    agent.replyOverride = 7;
    agent.endStreams();
    await until(() => rig.relay.counters.get('palisade_relay_upstream_failures_total', { upstream: address, reason: 'nonce_mismatch' }) >= 2, 'two nonce mismatches');
    assert.equal(statsOf(rig, address).connects, connects);
    assert.equal(agent.watchers, 0);
    agent.replyOverride = undefined;
    await until(() => statsOf(rig, address).connects === connects + 1 && agent.watchers === 3, 'a session once the nonce is echoed');
  });
});
