// Container id normalisation and the container index (full ids, prefixes, pod updates).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { normaliseContainerId, runtimeOf } from '../../../relay/k8s/container-id.js';
import { ContainerIndex } from '../../../relay/k8s/container-index.js';

const A = 'a'.repeat(64);
const B = `${'a'.repeat(12)}${'b'.repeat(52)}`;
const C = 'c'.repeat(64);

function pod(ns: string, name: string, statuses: Array<{ name: string; id?: string }>, init: Array<{ name: string; id: string }> = []): V1Pod {
  return {
    metadata: { namespace: ns, name },
    status: {
      containerStatuses: statuses.map((s) => ({ name: s.name, image: `${s.name}:1`, imageID: '', ready: true, restartCount: 0, ...(s.id === undefined ? {} : { containerID: s.id }) })),
      initContainerStatuses: init.map((s) => ({ name: s.name, image: 'init:1', imageID: '', ready: false, restartCount: 0, containerID: s.id })),
    },
  } as V1Pod;
}

describe('relay/k8s container ids', () => {
  it('strips runtime prefixes, lowercases, and rejects non-ids', () => {
    assert.equal(normaliseContainerId(`containerd://${A}`), A);
    assert.equal(normaliseContainerId(`cri-o://${A}`), A);
    assert.equal(normaliseContainerId(`docker://${A.toUpperCase()}`), A);
    assert.equal(normaliseContainerId(` ${A.slice(0, 12)} `), A.slice(0, 12));
    assert.equal(normaliseContainerId(A.slice(0, 11)), undefined);
    assert.equal(normaliseContainerId(`${A}a`), undefined);
    assert.equal(normaliseContainerId('g'.repeat(64)), undefined);
    assert.equal(normaliseContainerId('containerd://'), undefined);
    assert.equal(runtimeOf(`cri-o://${A}`), 'cri-o');
    assert.equal(runtimeOf(A), '');
  });
});

describe('relay/k8s container index', () => {
  it('indexes running containers (and init containers), not ones without an id yet', () => {
    const idx = new ContainerIndex();
    const added = idx.setPod(pod('ns', 'p', [{ name: 'app', id: `containerd://${A}` }, { name: 'wait' }], [{ name: 'init', id: `containerd://${C}` }]));
    assert.deepEqual(added.map((r) => [r.name, r.kind]), [['app', 'container'], ['init', 'init']]);
    assert.equal(idx.size, 2);
    const hit = idx.find(A);
    assert.ok(hit.found);
    assert.equal(hit.found && hit.ref.pod, 'p');
    assert.equal(idx.find(C).found, true);
  });

  it('finds unique prefixes and reports ambiguous ones', () => {
    const idx = new ContainerIndex();
    idx.setPod(pod('ns', 'p', [{ name: 'a', id: `docker://${A}` }, { name: 'b', id: `docker://${B}` }]));
    const amb = idx.find('a'.repeat(12));
    assert.equal(amb.found, false);
    assert.equal(!amb.found && amb.ambiguous, true);
    const one = idx.find(`${'a'.repeat(12)}bb`);
    assert.equal(one.found && one.ref.name, 'b');
    const none = idx.find('f'.repeat(20));
    assert.deepEqual(none, { found: false, ambiguous: false });
  });

  it('an update replaces exactly the ids the pod had; removePod and retainPods drop them', () => {
    const idx = new ContainerIndex();
    idx.setPod(pod('ns', 'p', [{ name: 'app', id: `containerd://${A}` }]));
    const added = idx.setPod(pod('ns', 'p', [{ name: 'app', id: `containerd://${C}` }]));
    assert.deepEqual(added.map((r) => r.id), [C], 'a restarted container is new');
    assert.equal(idx.find(A).found, false, 'the old container id is gone');
    assert.equal(idx.find(A.slice(0, 12)).found, false, 'and so is its prefix entry');
    assert.deepEqual(idx.setPod(pod('ns', 'p', [{ name: 'app', id: `containerd://${C}` }])), [], 'unchanged pod adds nothing');
    idx.setPod(pod('ns', 'q', [{ name: 'x', id: `containerd://${A}` }]));
    assert.equal(idx.pods, 2);
    idx.removePod('ns', 'p');
    assert.equal(idx.find(C).found, false);
    assert.equal(idx.find(A).found, true);
    idx.retainPods(new Set(['ns/other']));
    assert.equal(idx.size, 0);
    assert.equal(idx.pods, 0);
  });

  it('a container id moving to another pod leaves the first pod without it', () => {
    const idx = new ContainerIndex();
    idx.setPod(pod('ns', 'p', [{ name: 'app', id: `containerd://${A}` }]));
    idx.setPod(pod('ns', 'q', [{ name: 'app', id: `containerd://${A}` }]));
    const hit = idx.find(A);
    assert.equal(hit.found && hit.ref.pod, 'q');
    idx.removePod('ns', 'p');
    assert.equal(idx.find(A).found, true, 'removing the old pod does not remove the moved id');
  });
});
