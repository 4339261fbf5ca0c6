// The identity cache against the Kubernetes API test server over real HTTP: owners through
// the owner chain, labels, container name and image, id forms, namespaces and nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerIdFor, createBarePod, createCronJob, createDaemonSet, createDeployment, createJob,
  createNamespace, createNode, createStatefulSet, podObject, type WorkloadFixture, type PodFixture,
} from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { startHarness, type Harness } from './harness.js';
import type { ResolveResult } from '../../../relay/k8s/index.js';

function identityOf(r: ResolveResult) {
  if (!r.ok) assert.fail(`expected an identity, got unknown: ${r.unknown.reason}: ${r.unknown.message}`);
  return r.identity;
}

describe('relay/k8s identity: resolution through informers', () => {
  let h: Harness;
  let web: WorkloadFixture;
  let db: WorkloadFixture;
  let agent: WorkloadFixture;
  let report: WorkloadFixture;
  let once: WorkloadFixture;
  let debug: PodFixture;

  before(async () => {
    h = await startHarness({
      seed: (api) => {
        createNamespace(api, 'shop', { annotations: { 'kubearmor-file-posture': 'block', 'kubearmor-network-posture': 'audit', 'kubearmor-visibility': 'process,file' } });
        createNamespace(api, 'kube-system');
        createNode(api, 'node-1', { labels: { zone: 'a' } });
        web = createDeployment(api, {
          namespace: 'shop', name: 'web', replicas: 2, labels: { tier: 'front', app: 'web' },
          containers: [{ name: 'nginx', image: 'docker.io/library/nginx:1.27' }, { name: 'sidecar', image: 'busybox:1.36', runtime: 'cri-o' }],
        });
        db = createStatefulSet(api, { namespace: 'shop', name: 'db', containers: [{ name: 'mysql', image: 'mysql:8', runtime: 'docker' }] });
        agent = createDaemonSet(api, { namespace: 'kube-system', name: 'agent' });
        report = createCronJob(api, { namespace: 'shop', name: 'report' });
        once = createJob(api, { namespace: 'shop', name: 'once' });
        debug = createBarePod(api, 'shop', 'debug', { labels: { z: '1', a: '2' } });
      },
    });
  });
  after(async () => { await h.close(); });

  it('resolves a Deployment pod to owner Deployment through its ReplicaSet, for every replica and container', () => {
    assert.equal(web.pods.length, 2);
    for (const p of web.pods) {
      for (const [i, id] of p.containerIds.entries()) {
        const idt = identityOf(h.cache.lookup(id));
        assert.deepEqual(idt.owner, { ref: 'Deployment', name: 'web', namespace: 'shop' });
        assert.equal(idt.ownerComplete, true);
        assert.equal(idt.namespace, 'shop');
        assert.equal(idt.pod, p.pod.metadata.name);
        assert.equal(idt.containerName, i === 0 ? 'nginx' : 'sidecar');
        assert.equal(idt.image, i === 0 ? 'docker.io/library/nginx:1.27' : 'busybox:1.36');
        assert.match(idt.containerImage, i === 0 ? /^docker\.io\/library\/nginx:1\.27@sha256:[0-9a-f]{64}$/ : /^busybox:1\.36@sha256:/);
        assert.equal(idt.nodeName, 'node-1');
        assert.equal(idt.containerId, id);
      }
    }
  });

  it('formats labels as KubeArmor does (sorted k=v joined by commas) and as a map', () => {
    const idt = identityOf(h.cache.lookup(web.pods[0]?.containerIds[0] ?? ''));
    const hash = web.pods[0]?.pod.metadata.labels?.['pod-template-hash'] ?? '';
    assert.notEqual(hash, '');
    assert.equal(idt.labels, `app=web,pod-template-hash=${hash},tier=front`);
    assert.deepEqual(idt.labelMap, { tier: 'front', app: 'web', 'pod-template-hash': hash });
    assert.equal(identityOf(h.cache.lookup(debug.containerIds[0] ?? '')).labels, 'a=2,z=1');
  });

  it('resolves StatefulSet, DaemonSet, CronJob (through its Job), bare Job and bare pod owners', () => {
    const owner = (f: { containerIds: readonly string[] }) => identityOf(h.cache.lookup(f.containerIds[0] ?? '')).owner;
    assert.deepEqual(owner(db.pods[0] ?? assert.fail()), { ref: 'StatefulSet', name: 'db', namespace: 'shop' });
    assert.deepEqual(owner(agent.pods[0] ?? assert.fail()), { ref: 'DaemonSet', name: 'agent', namespace: 'kube-system' });
    assert.deepEqual(owner(report.pods[0] ?? assert.fail()), { ref: 'CronJob', name: 'report', namespace: 'shop' });
    assert.deepEqual(owner(once.pods[0] ?? assert.fail()), { ref: 'Job', name: 'once', namespace: 'shop' });
    assert.deepEqual(owner(debug), { ref: 'Pod', name: 'debug', namespace: 'shop' });
  });

  it('accepts runtime-prefixed, upper-case and short-prefix ids, and rejects what is not an id', () => {
    const id = db.pods[0]?.containerIds[0] ?? '';
    for (const form of [id, `docker://${id}`, `containerd://${id}`, `cri-o://${id}`, id.toUpperCase(), id.slice(0, 12), id.slice(0, 30)]) {
      assert.equal(identityOf(h.cache.lookup(form)).pod, 'db-0', form);
    }
    for (const bad of ['', 'abc', 'z'.repeat(64), `${id}00`]) {
      const r = h.cache.lookup(bad);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.unknown.reason, 'invalid-container-id', bad);
    }
  });

  it('reports an ambiguous short prefix instead of guessing', () => {
    const a = `abcdef012345${'1'.repeat(52)}`;
    const b = `abcdef012345${'2'.repeat(52)}`;
    h.api.create('pods', podObject('shop', 'twins', { containers: [{ name: 'a', image: 'x:1', id: a }, { name: 'b', image: 'x:1', id: b }] }).pod);
    return pollUntil('twins indexed', () => h.cache.lookup(a).ok && h.cache.lookup(b).ok).then(() => {
      const r = h.cache.lookup('abcdef012345');
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.unknown.reason, 'ambiguous-prefix');
      assert.equal(identityOf(h.cache.lookup(`abcdef012345${'2'.repeat(10)}`)).containerName, 'b');
    });
  });

  it('shows namespace posture annotations and node info, and follows their changes', async () => {
    const ns = h.cache.namespace('shop');
    assert.ok(ns);
    assert.deepEqual(ns.posture, { file: 'block', network: 'audit', capabilities: undefined });
    assert.equal(ns.visibility, 'process,file');
    assert.equal(h.cache.namespace('kube-system')?.posture.file, undefined);
    assert.equal(h.cache.namespace('nope'), undefined);
    h.api.patch('namespaces', undefined, 'shop', (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, 'kubearmor-file-posture': 'audit', 'kubearmor-capabilities-posture': 'block' };
    });
    await pollUntil('posture change seen', () => h.cache.namespace('shop')?.posture.capabilities === 'block');
    assert.equal(h.cache.namespace('shop')?.posture.file, 'audit');
    const node = h.cache.node('node-1');
    assert.equal(node?.labels.zone, 'a');
    assert.equal(node?.kernelVersion, '6.18.0');
    assert.equal(node?.internalIp, '10.0.0.10');
  });

  it('reports a pod whose ReplicaSet is not cached yet by its ReplicaSet, then by the Deployment once it arrives', async () => {
    const dep = h.api.create('deployments', { metadata: { name: 'late', namespace: 'shop', labels: { app: 'late' } }, spec: {} });
    const rsName = 'late-5d8f7c9b4';
    const rsUid = '00000000-0000-4000-8000-00000000abcd';
    const pod = podObject('shop', `${rsName}-xk2pq`, { labels: { app: 'late' }, containers: [{ name: 'app', image: 'late:1' }] });
    pod.pod.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rsUid, controller: true }];
    h.api.create('pods', pod.pod);
    const id = pod.containerIds[0] ?? '';
    await pollUntil('late pod indexed', () => h.cache.lookup(id).ok);
    const before = identityOf(h.cache.lookup(id));
    assert.deepEqual(before.owner, { ref: 'ReplicaSet', name: rsName, namespace: 'shop' });
    assert.equal(before.ownerComplete, false);
    h.api.create('replicasets', {
      metadata: {
        name: rsName, namespace: 'shop', uid: rsUid,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'late', uid: dep.metadata.uid ?? '', controller: true }],
      },
    });
    const after = await pollUntil('owner upgraded to the Deployment', () => {
      const r = h.cache.lookup(id);
      return r.ok && r.identity.owner.ref === 'Deployment' ? r.identity : undefined;
    });
    assert.deepEqual(after.owner, { ref: 'Deployment', name: 'late', namespace: 'shop' });
    assert.equal(after.ownerComplete, true);
  });

  it('follows label changes and pod deletion', async () => {
    const id = debug.containerIds[0] ?? '';
    h.api.patch('pods', 'shop', 'debug', (o) => { o.metadata.labels = { ...o.metadata.labels, m: 'new' }; });
    await pollUntil('label change seen', () => { const r = h.cache.lookup(id); return r.ok && r.identity.labels === 'a=2,m=new,z=1'; });
    h.api.delete('pods', 'shop', 'debug');
    await pollUntil('deleted pod gone', () => { const r = h.cache.lookup(id); return !r.ok && r.unknown.reason === 'not-found'; });
    assert.equal(containerIdFor('shop/debug/debug'), id);
  });

  it('counts hits and unknowns by reason', () => {
    const s = h.cache.stats();
    assert.equal(s.mode, 'kubeconfig');
    assert.equal(s.synced, true);
    assert.ok(s.hits > 0);
    assert.ok(s.unknown['invalid-container-id'] >= 4);
    assert.ok(s.unknown['ambiguous-prefix'] >= 1);
    assert.equal(s.informers.length, 9);
    assert.ok(s.namespaces >= 2 && s.nodes === 1);
  });
});

describe('relay/k8s identity: pod discovery', () => {
  it('lists cached pods by namespace and labels, with node, IP and readiness', async () => {
    const h = await startHarness({ seed: (api) => {
      createNamespace(api, 'kubearmor');
      createDaemonSet(api, { namespace: 'kubearmor', name: 'kubearmor', labels: { 'kubearmor-app': 'kubearmor' }, replicas: 2, nodeName: 'node-7' });
      createBarePod(api, 'kubearmor', 'other', { labels: { 'kubearmor-app': 'relay' } });
      createBarePod(api, 'default', 'starting', { labels: { 'kubearmor-app': 'kubearmor' }, running: false });
    } });
    try {
      const agents = h.cache.pods({ namespace: 'kubearmor', labels: { 'kubearmor-app': 'kubearmor' } });
      assert.equal(agents.length, 2);
      for (const a of agents) {
        assert.equal(a.nodeName, 'node-7');
        assert.equal(a.ready, true);
        assert.match(a.podIp ?? '', /^10\.244\.0\.\d+$/);
      }
      const everywhere = h.cache.pods({ labels: { 'kubearmor-app': 'kubearmor' } });
      assert.equal(everywhere.length, 3);
      assert.equal(everywhere.find((p) => p.name === 'starting')?.ready, false);
      assert.equal(h.cache.pods().length, 4);
    } finally {
      await h.close();
    }
  });
});
