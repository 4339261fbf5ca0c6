import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSummary } from '../../../relay/k8s/index.js';
import { defaultUpstreamConfig } from '../../../relay/upstream/config.js';
import { createDiscovery, discoveredTargets, type PodSource } from '../../../relay/upstream/discovery.js';

const pod = (name: string, over: Partial<PodSummary> = {}): PodSummary => ({
  namespace: 'kubearmor', name, uid: `uid-${name}`, nodeName: `node-${name}`, podIp: '10.0.0.1', phase: 'Running', ready: true, labels: { 'kubearmor-app': 'kubearmor' }, ...over,
});

describe('relay/upstream discovery', () => {
  const d = defaultUpstreamConfig().discovery;

  it('targets Ready pods with an IP at <ip>:port, nodeId = node name, sorted by address', () => {
    const t = discoveredTargets([
      pod('b', { podIp: '10.0.0.9' }),
      pod('a', { podIp: '10.0.0.2' }),
      pod('noip', { podIp: undefined }),
      pod('notready', { podIp: '10.0.0.3', ready: false }),
      pod('v6', { podIp: 'fd00::7' }),
      pod('nonode', { podIp: '10.0.0.4', nodeName: '' }),
    ], d);
    assert.deepEqual(t.map((x) => [x.address, x.nodeId, x.pod, x.hostName]), [
      ['10.0.0.2:32767', 'node-a', 'kubearmor/a', 'node-a'],
      ['10.0.0.4:32767', '10.0.0.4:32767', 'kubearmor/nonode', ''],
      ['10.0.0.9:32767', 'node-b', 'kubearmor/b', 'node-b'],
      ['[fd00::7]:32767', 'node-v6', 'kubearmor/v6', 'node-v6'],
    ]);
  });

  it('keeps not-Ready pods when requireReady is off, and one target per address', () => {
    const t = discoveredTargets([pod('z', { podIp: '10.0.0.5', ready: false }), pod('y', { podIp: '10.0.0.5' })], { ...d, requireReady: false, port: 1234 });
    assert.deepEqual(t.map((x) => [x.address, x.pod]), [['10.0.0.5:1234', 'kubearmor/y']]);
  });

  it('asks the pod source for the selector and namespace, and reports only changes', () => {
    const asked: Array<Parameters<PodSource['pods']>[0]> = [];
    let pods = [pod('a')];
    const changes: string[][] = [];
    const disc = createDiscovery({ pods: (m) => { asked.push(m); return pods; } }, { ...d, namespace: 'kubearmor', intervalMs: 1_000_000 }, (t) => changes.push(t.map((x) => x.address)));
    disc.start();
    disc.stop();
    assert.deepEqual(asked, [{ namespace: 'kubearmor', labels: { 'kubearmor-app': 'kubearmor' } }] as typeof asked);
    assert.deepEqual(changes, [['10.0.0.1:32767']]);
    // every namespace when namespace is '' (as KubeArmor's relay lists agents)
    const all = createDiscovery({ pods: (m) => { asked.push(m); return pods; } }, d, () => undefined);
    all.start();
    all.stop();
    assert.deepEqual(asked[1], { labels: { 'kubearmor-app': 'kubearmor' } } as (typeof asked)[number]);
    pods = [];
    disc.start();
    disc.stop();
    assert.deepEqual(changes, [['10.0.0.1:32767'], []]);
  });
});
