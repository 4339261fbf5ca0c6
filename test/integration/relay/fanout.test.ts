// 20 simulated enforcers (real gRPC ingest clients) and 3 karmor-style log-stream
// clients over loopback: every event reaches every client exactly once, enriched
// through relay/k8s informers from the Kubernetes API test server (one Deployment per
// node); a fourth client that never reads does not change what the others receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { Enforcer, startRelay, until, Watcher, watchersReady } from './support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startK8sApiServer, writeKubeconfig } from '../../support/k8s-api-server.js';
import { createDeployment, createNamespace, type WorkloadFixture } from '../../support/k8s-fixtures.js';

const NODES = 20;
const BATCHES = 10;
const PER_BATCH = 20;
const TOTAL = NODES * BATCHES * PER_BATCH;

/** Rounds: every enforcer sends one batch and waits for its ack; the next round starts
 * once every healthy client has everything so far (so only the stalled client can overflow). */
async function runEnforcers(ingestPort: number, healthy: ReadonlyArray<{ got: unknown[] }>, cids: readonly string[]): Promise<Enforcer[]> {
  const enforcers = Array.from({ length: NODES }, (_, i) => new Enforcer(`127.0.0.1:${ingestPort}`, `node-${i}`).open());
  for (const e of enforcers) e.hello('test-cluster');
  for (let b = 0; b < BATCHES; b++) {
    const first = b * PER_BATCH + 1;
    const last = first + PER_BATCH - 1;
    enforcers.forEach((e, i) => e.alerts(first, last, () => ({ ContainerID: cids[i] as string })));
    for (const e of enforcers) await until(() => e.acked() >= BigInt(last), `${e.nodeId} ack ${last}`, 2000);
    const expected = (b + 1) * NODES * PER_BATCH;
    for (const c of healthy) await until(() => c.got.length >= expected, `healthy clients at ${expected}`, 2000);
  }
  return enforcers;
}

test('20 enforcers x 3 clients: every event exactly once, enriched; a stalled client changes nothing for the others', async () => {
  const token = 'fanout-token';
  const api = await startK8sApiServer({ token });
  for (let n = 0; n < 3; n++) createNamespace(api, `ns-${n}`);
  const deps: WorkloadFixture[] = Array.from({ length: NODES }, (_, n) =>
    createDeployment(api, { namespace: `ns-${n % 3}`, name: `dep-${n}`, labels: { app: `app${n % 2}`, node: String(n) } }));
  const dir = mkdtempSync(join(tmpdir(), 'relay-fanout-'));
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), api.url, { token });
  const { relay, addrs } = await startRelay({
    throttle: { enabled: false, collapseWindowMs: 0 }, kubernetes: { mode: 'kubeconfig', kubeconfig, identityWaitMs: 3000 },
    logStream: { clientQueueSize: 1000, replayBuffer: 5000 },
  });
  const target = `127.0.0.1:${addrs.logStreamPort}`;
  const clients = [new Watcher<Alert>(target, 'watchAlerts', 'policy'), new Watcher<Alert>(target, 'watchAlerts', 'all'), new Watcher<Alert>(target, 'watchAlerts', 'policy')];
  const stalled = new Watcher<Alert>(target, 'watchAlerts', 'all');
  stalled.call.pause(); // never reads: HTTP/2 flow control stops the relay's writes to it
  await watchersReady(relay, 4);

  const enforcers = await runEnforcers(addrs.ingestPort, clients, deps.map((d) => d.pods[0]!.containerIds[0]!));

  for (const c of clients) {
    assert.equal(c.got.length, TOTAL, 'no extra events');
    const ids = new Set(c.got.map((a) => a.Resource));
    assert.equal(ids.size, TOTAL, 'no duplicates');
    for (let n = 0; n < NODES; n++) {
      for (let s = 1; s <= BATCHES * PER_BATCH; s++) assert.ok(ids.has(`/etc/file-node-${n}-${s}`), `node-${n} seq ${s}`);
    }
    for (const a of c.got) {
      const n = Number(/^node-(\d+)$/.exec(a.HostName)![1]);
      assert.equal(a.NamespaceName, `ns-${n % 3}`);
      assert.equal(a.PodName, deps[n]!.pods[0]!.pod.metadata.name);
      assert.match(a.Labels, new RegExp(`^app=app${n % 2},node=${n},pod-template-hash=\\w+$`));
      assert.deepEqual(a.Owner, { Ref: 'Deployment', Name: `dep-${n}`, Namespace: `ns-${n % 3}` });
      assert.equal(a.ContainerName, `dep-${n}`);
      assert.deepEqual(a.ATags, [], 'enriched, not marked unknown');
      assert.equal(a.ClusterName, 'test-cluster');
      assert.equal(a.Operation, 'File');
    }
    // per node, events arrive in seq order
    const lastSeq = new Map<string, number>();
    for (const a of c.got) {
      const s = Number(/-(\d+)$/.exec(a.Resource)![1]);
      assert.ok(s > (lastSeq.get(a.HostName) ?? 0), 'in order per node');
      lastSeq.set(a.HostName, s);
    }
    assert.equal(c.got.filter((a) => a.Operation === 'Dropped').length, 0, 'healthy clients lose nothing');
  }
  assert.equal(relay.counters.total('palisade_relay_ingest_events_total'), TOTAL);

  // The stalled client lost only its own events, and is told how many when it reads again.
  stalled.call.resume();
  const notice = (): Alert | undefined => stalled.got.find((a) => a.Operation === 'Dropped');
  await until(() => notice() !== undefined, 'drop notice');
  const dropped = Number(/DroppedEvents=(\d+)/.exec(notice()!.Data)![1]);
  await until(() => stalled.got.filter((a) => a.Type === 'MatchedPolicy').length + dropped >= TOTAL, 'stalled client catches up');
  const real = stalled.got.filter((a) => a.Type === 'MatchedPolicy');
  assert.ok(dropped > 0, 'the stalled client overflowed');
  assert.equal(real.length + dropped, TOTAL, 'delivered + dropped = published');
  assert.equal(new Set(real.map((a) => a.Resource)).size, real.length, 'no duplicates for the stalled client either');
  assert.equal(relay.counters.get('palisade_relay_client_dropped_events_total', { reason: 'queue_full' }), dropped);

  for (const e of enforcers) e.close();
  for (const c of [...clients, stalled]) c.close();
  await relay.stop(3000);
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
