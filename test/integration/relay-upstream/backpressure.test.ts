// Back-pressure: while the pipeline does not take events (a gated submit(), as a
// scale-out pipeline waiting on Redis would), an agent's streams are paused once
// maxPendingEvents wait; nothing is dropped, and when the pipeline takes events
// again every event reaches the relay's client, in the agent's order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { until, Watcher, watchersReady } from '../relay/support.js';
import { FakeAgent } from './fake-agent.js';
import { startRig, upstreamConfig, type Rig } from './harness.js';

describe('relay/upstream: back-pressure from the pipeline', () => {
  const agent = new FakeAgent();
  let rig: Rig;
  let alerts: Watcher<Alert>;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => { open = r; });
  let submits = 0;

  before(async () => {
    await agent.start();
    rig = await startRig(upstreamConfig({ addresses: [agent.address], maxPendingEvents: 50, maxBatch: 20 }), undefined, (p) => ({
      submit: async (evs) => {
        submits++;
        await gate;
        await p.submit(evs);
      },
    }));
    alerts = new Watcher<Alert>(rig.logStream, 'watchAlerts', 'all');
    await watchersReady(rig.relay, 1);
    await until(() => agent.watchers === 3, 'streams on the agent');
  });

  after(async () => {
    alerts.close();
    await rig.close();
    agent.stop();
  });

  it('pauses the agent at maxPendingEvents, drops nothing, and delivers all in order once the pipeline takes them', async () => {
    const N = 2_000;
    for (let i = 0; i < N; i++) agent.alert({ Resource: `/bp/${i}`, Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => rig.upstreams.stats()[0]?.paused === true, 'the streams to be paused');
    const s = rig.upstreams.stats()[0];
    assert.ok(s && s.pending <= 50, `pending ${s?.pending} <= maxPendingEvents`);
    assert.ok(s && s.received.alert < N, 'the agent is held back, not read to the end');
    assert.equal(submits, 1); // one batch in the gated submit, the rest waiting
    open();
    await until(() => alerts.got.length >= N, `${N} alerts at the client`, 1_000);
    assert.deepEqual(alerts.got.map((a) => a.Resource), Array.from({ length: N }, (_, i) => `/bp/${i}`));
    const done = rig.upstreams.stats()[0];
    assert.equal(done?.dropped, 0);
    assert.equal(done?.delivered, N);
    assert.equal(done?.paused, false);
    assert.ok(rig.relay.counters.get('palisade_relay_upstream_paused_total', { upstream: agent.address }) >= 1);
  });
});
