// Discovery through the Kubernetes API: agent pods (kubearmor-app=kubearmor, namespace
// kubearmor) in the protocol-faithful API test server, seen by the relay's identity
// cache (real informers over HTTP), become upstreams as they appear and Ready with an
// IP, and stop being pulled when they disappear. Each fake agent listens on its own
// loopback address (127.0.0.2, 127.0.0.3...) on one shared port, as agents on
// different nodes listen on one port at different pod IPs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { createBarePod } from '../../support/k8s-fixtures.js';
import type { K8sApiServer } from '../../support/k8s-api-server.js';
import { startHarness, type Harness } from '../relay-k8s/harness.js';
import { until, Watcher, watchersReady } from '../relay/support.js';
import { FakeAgent } from './fake-agent.js';
import { startRig, upstreamConfig, type Rig } from './harness.js';

const AGENT_LABELS = { 'kubearmor-app': 'kubearmor' };

function agentPod(api: K8sApiServer, name: string, ip: string, node: string, opts: { ready?: boolean; namespace?: string; labels?: Record<string, string> } = {}): void {
  const ns = opts.namespace ?? 'kubearmor';
  // created Pending (no IP, not Ready), then given its loopback IP: discovery never sees a
  // fixture's default 10.244.x.x address, so no test traffic leaves loopback
  createBarePod(api, ns, name, { labels: opts.labels ?? AGENT_LABELS, nodeName: node, running: false, containers: [{ name: 'kubearmor', image: 'kubearmor/kubearmor:stable' }] });
  api.patch('pods', ns, name, (o) => {
    const status = o['status'] as Record<string, unknown>;
    status['phase'] = 'Running';
    status['podIP'] = ip;
    status['conditions'] = [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }];
  });
}

describe('relay/upstream: discovery of agent pods', () => {
  let k8s: Harness;
  let rig: Rig;
  let alerts: Watcher<Alert>;
  const agents = new Map<string, FakeAgent>();
  let port = 0;
  const addresses = (): string[] => rig.upstreams.stats().map((s) => s.address);

  before(async () => {
    const first = new FakeAgent('127.0.0.2');
    port = await first.start();
    agents.set('127.0.0.2', first);
    for (const ip of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const a = new FakeAgent(ip);
      await a.start(port);
      agents.set(ip, a);
    }
    k8s = await startHarness();
    rig = await startRig(upstreamConfig({ discovery: { enabled: true, namespace: 'kubearmor', labelSelector: 'kubearmor-app=kubearmor', port, requireReady: true, intervalMs: 20 } }), k8s.cache);
    alerts = new Watcher<Alert>(rig.logStream, 'watchAlerts', 'all');
    await watchersReady(rig.relay, 1);
  });

  after(async () => {
    alerts.close();
    await rig.close();
    await k8s.close();
    for (const a of agents.values()) a.stop();
  });

  const agent = (ip: string): FakeAgent => agents.get(ip) as FakeAgent;

  it('adds an upstream for a Ready agent pod with an IP and pulls its events (nodeId = node name)', async () => {
    agentPod(k8s.api, 'kubearmor-aaaaa', '127.0.0.2', 'node-a');
    await until(() => agent('127.0.0.2').watchers === 3, 'the relay to pull from the first agent');
    assert.deepEqual(addresses(), [`127.0.0.2:${port}`]);
    const s = rig.upstreams.stats()[0];
    assert.equal(s?.pod, 'kubearmor/kubearmor-aaaaa');
    assert.equal(s?.nodeId, 'node-a');
    agent('127.0.0.2').alert({ Resource: '/a/1', Type: 'MatchedPolicy', Timestamp: 1n });
    agent('127.0.0.2').alert({ Resource: '/a/2', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.length >= 2, 'two alerts from the first agent');
    // HostName was empty: filled with the pod's node, as ingest fills it for enforcers
    assert.deepEqual(alerts.got.map((a) => [a.Resource, a.HostName]), [['/a/1', 'node-a'], ['/a/2', 'node-a']]);
    assert.ok(rig.published.every((e) => e.nodeId === 'node-a'));
  });

  it('ignores agent pods that are not Ready, pods without the label, and other namespaces', async () => {
    agentPod(k8s.api, 'kubearmor-notready', '127.0.0.4', 'node-d', { ready: false });
    agentPod(k8s.api, 'something-else', '127.0.0.5', 'node-e', { labels: { app: 'web' } });
    agentPod(k8s.api, 'kubearmor-elsewhere', '127.0.0.5', 'node-e', { namespace: 'kube-system' });
    agentPod(k8s.api, 'kubearmor-bbbbb', '127.0.0.3', 'node-b');
    // the last pod is seen, so the informer has delivered the three before it
    await until(() => agent('127.0.0.3').watchers === 3, 'the relay to pull from the second agent');
    assert.deepEqual(addresses(), [`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    assert.equal(agent('127.0.0.4').healthChecks + agent('127.0.0.5').healthChecks, 0);
  });

  it('adds a pod once it becomes Ready', async () => {
    k8s.api.patch('pods', 'kubearmor', 'kubearmor-notready', (o) => {
      (o['status'] as Record<string, unknown>)['conditions'] = [{ type: 'Ready', status: 'True' }];
    });
    await until(() => agent('127.0.0.4').watchers === 3, 'the relay to pull from the agent that became Ready');
    agent('127.0.0.4').alert({ Resource: '/d/1', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.some((a) => a.Resource === '/d/1'), 'the alert of the third agent');
    assert.equal(rig.relay.counters.get('palisade_relay_upstream_discovery_changes_total', { change: 'added' }), 3);
  });

  it('stops pulling from an agent whose pod is deleted; the others keep flowing', async () => {
    k8s.api.delete('pods', 'kubearmor', 'kubearmor-aaaaa');
    await until(() => agent('127.0.0.2').watchers === 0, 'the relay to close its streams on the removed agent');
    assert.deepEqual(addresses(), [`127.0.0.3:${port}`, `127.0.0.4:${port}`]);
    assert.equal(agent('127.0.0.2').alert({ Resource: '/a/gone', Type: 'MatchedPolicy', Timestamp: 1n }), 0);
    agent('127.0.0.3').alert({ Resource: '/b/1', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.some((a) => a.Resource === '/b/1'), 'the alert of the remaining agent');
    assert.ok(!alerts.got.some((a) => a.Resource === '/a/gone'));
    assert.equal(rig.relay.counters.get('palisade_relay_upstream_discovery_changes_total', { change: 'removed' }), 1);
  });

  it('picks up a replacement pod at the same IP (new pod name) as a new upstream', async () => {
    const before = agent('127.0.0.2').healthChecks;
    agentPod(k8s.api, 'kubearmor-ccccc', '127.0.0.2', 'node-a');
    await until(() => agent('127.0.0.2').watchers === 3, 'the relay to pull from the replacement');
    assert.ok(agent('127.0.0.2').healthChecks > before);
    assert.equal(rig.upstreams.stats().find((s) => s.address === `127.0.0.2:${port}`)?.pod, 'kubearmor/kubearmor-ccccc');
    agent('127.0.0.2').alert({ Resource: '/a/back', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.some((a) => a.Resource === '/a/back'), 'the alert of the replacement');
  });
});
