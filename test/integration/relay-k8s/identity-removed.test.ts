// Late events: a container whose pod was deleted (or that a restart replaced) still
// resolves for deletedRetentionMs, marked removed, then becomes not-found.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDeployment, createNamespace, podObject } from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { startHarness, type Harness } from './harness.js';

describe('relay/k8s identity: removed containers', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });

  it('a deleted pod resolves as removed with its last identity, then expires', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); }, config: { deletedRetentionMs: 400 } });
    const d = createDeployment(h.api, { namespace: 'app', name: 'web' });
    const pod = d.pods[0]?.pod.metadata.name ?? '';
    const id = d.pods[0]?.containerIds[0] ?? '';
    await pollUntil('indexed with its Deployment', () => { const x = h?.cache.lookup(id); return x?.ok === true && x.identity.owner.ref === 'Deployment'; });
    h.api.delete('pods', 'app', pod);
    const r = await pollUntil('removed identity', () => { const x = h?.cache.lookup(id); return x?.ok === true && x.identity.removed ? x.identity : undefined; });
    assert.deepEqual(r.owner, { ref: 'Deployment', name: 'web', namespace: 'app' });
    assert.equal(r.pod, pod);
    assert.equal(h.cache.lookup(id.slice(0, 14)).ok, true, 'prefix lookups too');
    assert.ok(h.cache.stats().removedHits >= 2);
    assert.equal(h.cache.stats().removedRetained, 1);
    await pollUntil('retention over', () => { const x = h?.cache.lookup(id); return x !== undefined && !x.ok && x.unknown.reason === 'not-found'; });
    assert.equal(h.cache.stats().removedRetained, 0);
  });

  it('a restarted container: the old id resolves as removed, the new one as live', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); }, config: { deletedRetentionMs: 60_000 } });
    const first = podObject('app', 'solo', { containers: [{ name: 'c', image: 'c:1', id: '1'.repeat(64) }] });
    h.api.create('pods', first.pod);
    await pollUntil('indexed', () => h?.cache.lookup('1'.repeat(64)).ok);
    const second = podObject('app', 'solo', { containers: [{ name: 'c', image: 'c:1', id: '2'.repeat(64) }] });
    h.api.patch('pods', 'app', 'solo', (o) => { o.status = second.pod.status; });
    await pollUntil('new id live', () => { const x = h?.cache.lookup('2'.repeat(64)); return x?.ok === true && !x.identity.removed; });
    const old = h.cache.lookup('1'.repeat(64));
    assert.equal(old.ok && old.identity.removed, true);
    assert.equal(old.ok && old.identity.pod, 'solo');
  });

  it('bounds what it retains, dropping the oldest and counting it', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); }, config: { deletedRetentionMs: 60_000, maxDeleted: 2 } });
    const ids: string[] = [];
    for (const n of ['a', 'b', 'c']) {
      const p = podObject('app', n, { containers: [{ name: n, image: 'x:1' }] });
      h.api.create('pods', p.pod);
      ids.push(p.containerIds[0] ?? '');
    }
    await pollUntil('indexed', () => ids.every((i) => h?.cache.lookup(i).ok));
    for (const n of ['a', 'b', 'c']) h.api.delete('pods', 'app', n);
    await pollUntil('all deleted', () => h?.cache.stats().pods === 0);
    assert.equal(h.cache.stats().removedRetained, 2);
    assert.equal(h.cache.stats().removedDropped, 1);
    assert.equal(h.cache.lookup(ids[0] ?? '').ok, false, 'the oldest was dropped');
    assert.equal(h.cache.lookup(ids[2] ?? '').ok, true);
  });
});
