// Pure derivations: labels string, KubeArmor ContainerImage, owner chains, namespace posture.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { containerImageOf, labelString, namespaceInfoOf, resolveOwner, type OwnerLookup } from '../../../relay/k8s/identity.js';

const ref = (kind: string, name: string, controller = true) => ({ apiVersion: 'v1', kind, name, uid: `${kind}-${name}`, controller });
const podOwnedBy = (...owners: ReturnType<typeof ref>[]): V1Pod => ({ metadata: { name: 'p', namespace: 'ns', ownerReferences: owners } });

function lookupOf(objs: Record<string, KubernetesObject>): OwnerLookup {
  return (kind, ns, name) => objs[`${kind}/${ns}/${name}`];
}

describe('relay/k8s identity derivations', () => {
  it('labels: sorted by key, k=v joined by commas', () => {
    assert.equal(labelString({ z: '1', a: '2', 'app.kubernetes.io/name': 'x' }), 'a=2,app.kubernetes.io/name=x,z=1');
    assert.equal(labelString({}), '');
    assert.equal(labelString(undefined), '');
  });

  it('ContainerImage: image@digest when the runtime reported a digest', () => {
    assert.equal(containerImageOf('nginx:1.27', 'docker.io/library/nginx@sha256:abc'), 'nginx:1.27@sha256:abc');
    assert.equal(containerImageOf('nginx:1.27', 'sha256:abc'), 'nginx:1.27@sha256:abc');
    assert.equal(containerImageOf('nginx:1.27', ''), 'nginx:1.27');
    assert.equal(containerImageOf('nginx@sha256:def', 'x@sha256:def'), 'nginx@sha256:def');
  });

  it('owner chain: ReplicaSet→Deployment, Job→CronJob, direct kinds, bare pod, missing links', () => {
    const objs = lookupOf({
      'ReplicaSet/ns/web-1': { metadata: { name: 'web-1', ownerReferences: [ref('Deployment', 'web')] } },
      'ReplicaSet/ns/solo': { metadata: { name: 'solo' } },
      'Job/ns/rep-1': { metadata: { name: 'rep-1', ownerReferences: [ref('CronJob', 'rep')] } },
    });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('ReplicaSet', 'web-1')), objs), { owner: { ref: 'Deployment', name: 'web', namespace: 'ns' }, complete: true });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('ReplicaSet', 'solo')), objs).owner, { ref: 'ReplicaSet', name: 'solo', namespace: 'ns' });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('Job', 'rep-1')), objs).owner, { ref: 'CronJob', name: 'rep', namespace: 'ns' });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('StatefulSet', 'db')), objs).owner, { ref: 'StatefulSet', name: 'db', namespace: 'ns' });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('Node', 'n1')), objs).owner, { ref: 'Node', name: 'n1', namespace: 'ns' }, 'static pods');
    assert.deepEqual(resolveOwner(podOwnedBy(), objs), { owner: { ref: 'Pod', name: 'p', namespace: 'ns' }, complete: true });
    assert.deepEqual(resolveOwner(podOwnedBy(ref('ReplicaSet', 'unknown')), objs), { owner: { ref: 'ReplicaSet', name: 'unknown', namespace: 'ns' }, complete: false });
    assert.equal(resolveOwner(podOwnedBy(ref('ConfigMap', 'x', false), ref('DaemonSet', 'ds')), objs).owner.ref, 'DaemonSet', 'the controller reference wins');
  });

  it('an owner cycle cannot loop forever', () => {
    const objs = lookupOf({
      'ReplicaSet/ns/a': { metadata: { name: 'a', ownerReferences: [ref('ReplicaSet', 'b')] } },
      'ReplicaSet/ns/b': { metadata: { name: 'b', ownerReferences: [ref('ReplicaSet', 'a')] } },
    });
    assert.equal(resolveOwner(podOwnedBy(ref('ReplicaSet', 'a')), objs).owner.ref, 'ReplicaSet');
  });

  it('namespace posture and visibility come from the KubeArmor annotations', () => {
    const info = namespaceInfoOf({ metadata: { name: 'n', annotations: { 'kubearmor-network-posture': 'block', 'kubearmor-visibility': 'none' } } });
    assert.deepEqual(info.posture, { file: undefined, network: 'block', capabilities: undefined });
    assert.equal(info.visibility, 'none');
  });
});
