// Retained identities of removed containers: expiry, bound, prefix, late owner links.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tombstones } from '../../../relay/k8s/tombstones.js';
import type { ContainerIdentity } from '../../../relay/k8s/identity.js';

const ident = (id: string, complete = true, ref = 'Deployment'): ContainerIdentity => ({
  containerId: id, containerName: 'c', containerImage: 'i', image: 'i', imageId: '', namespace: 'n', pod: 'p', podUid: '',
  nodeName: '', labels: '', labelMap: {}, owner: { ref, name: 'o', namespace: 'n' }, ownerComplete: complete, removed: true,
});

describe('relay/k8s tombstones', () => {
  it('expires entries after the retention, oldest first', () => {
    const t = new Tombstones(100, 10);
    t.add(ident('a'.repeat(64)), 1000);
    t.add(ident('b'.repeat(64)), 1050);
    assert.equal(t.find('a'.repeat(64), 1099)?.pod, 'p');
    assert.equal(t.find('a'.repeat(64), 1100), undefined);
    assert.equal(t.find('b'.repeat(20), 1100)?.containerId, 'b'.repeat(64));
    assert.equal(t.size, 1);
    t.sweep(1150);
    assert.equal(t.size, 0);
  });

  it('drops the oldest beyond capacity and counts it; retention 0 keeps nothing', () => {
    const t = new Tombstones(1000, 2);
    for (const c of ['a', 'b', 'c']) t.add(ident(c.repeat(64)), 0);
    assert.equal(t.size, 2);
    assert.equal(t.droppedCount, 1);
    assert.equal(t.find('a'.repeat(64), 1), undefined);
    const off = new Tombstones(0, 10);
    off.add(ident('a'.repeat(64)), 0);
    assert.equal(off.size, 0);
  });

  it('completes an owner chain that was missing at removal time', () => {
    const t = new Tombstones(1000, 10);
    let arrived = false;
    t.add(ident('d'.repeat(64), false, 'ReplicaSet'), 0, () => ident('d'.repeat(64), arrived, arrived ? 'Deployment' : 'ReplicaSet'));
    assert.equal(t.find('d'.repeat(64), 1)?.owner.ref, 'ReplicaSet');
    arrived = true;
    assert.equal(t.find('d'.repeat(64), 2)?.owner.ref, 'Deployment');
  });
});
