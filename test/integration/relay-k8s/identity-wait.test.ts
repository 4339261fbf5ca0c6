// Bounded waiting in resolve(): a container that appears while a lookup waits is
// returned; one that never appears ends as unknown('not-found') with the reason visible;
// the count of waiters is bounded; close() answers waiters; mode 'none' never waits.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { containerIdFor, createBarePod, createNamespace, podObject } from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { startHarness, type Harness } from './harness.js';
import { createIdentityCache, defaultConfig } from '../../../relay/k8s/index.js';

describe('relay/k8s identity: bounded waiting', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });

  it('a pod created after the lookup started resolves within the wait', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); } });
    const id = containerIdFor('app/newcomer/newcomer');
    const pending = h.cache.resolve(`containerd://${id}`, { waitMs: 5_000 });
    await pollUntil('the lookup to be waiting', () => h?.cache.stats().waiters.pending === 1);
    createBarePod(h.api, 'app', 'newcomer');
    const r = await pending;
    assert.equal(r.ok, true, r.ok ? '' : `${r.unknown.reason}: ${r.unknown.message}`);
    if (r.ok) {
      assert.equal(r.identity.pod, 'newcomer');
      assert.ok(r.waitedMs >= 0);
    }
    const s = h.cache.stats();
    assert.equal(s.waiters.pending, 0);
    assert.equal(s.waiters.woken, 1);
    assert.equal(s.waiters.timedOut, 0);
  });

  it('a short-prefix lookup is woken by the container whose full id it prefixes', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); } });
    const id = containerIdFor('app/prefixed/prefixed');
    const pending = h.cache.resolve(id.slice(0, 16), { waitMs: 5_000 });
    await pollUntil('waiting', () => h?.cache.stats().waiters.pending === 1);
    createBarePod(h.api, 'app', 'prefixed');
    const r = await pending;
    assert.equal(r.ok && r.identity.containerId, id);
  });

  it('a pending pod that later gets its container id (status update) wakes the lookup', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); } });
    const pod = createBarePod(h.api, 'app', 'starting', { running: false });
    const id = pod.containerIds[0] ?? '';
    await pollUntil('pending pod listed', () => h?.cache.stats().pods === 1);
    assert.equal(h.cache.lookup(id).ok, false, 'no container id yet');
    const pending = h.cache.resolve(id, { waitMs: 5_000 });
    const running = podObject('app', 'starting', { containers: [{ name: 'starting', image: 'docker.io/library/starting:1.0' }] });
    h.api.patch('pods', 'app', 'starting', (o) => { o.status = running.pod.status; });
    const r = await pending;
    assert.equal(r.ok && r.identity.containerName, 'starting');
  });

  it('an unknown container ends as not-found after the wait, saying so', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); } });
    const id = containerIdFor('never/there');
    const r = await h.cache.resolve(id, { waitMs: 150 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.unknown.reason, 'not-found');
      assert.match(r.unknown.message, new RegExp(`container ${id} is in no pod known.*after waiting \\d+ ms`));
    }
    const s = h.cache.stats();
    assert.equal(s.waiters.timedOut, 1);
    assert.equal(s.waiters.pending, 0);
    assert.equal(s.unknown['not-found'], 1);
    const instant = h.cache.lookup(id);
    assert.equal(!instant.ok && instant.unknown.reason, 'not-found');
    const zero = await h.cache.resolve(id, { waitMs: 0 });
    assert.equal(!zero.ok && zero.unknown.reason, 'not-found');
    assert.equal(h.cache.stats().waiters.timedOut, 1, 'waitMs 0 does not wait');
  });

  it('caps waiters: the one beyond maxWaiters is answered at once and counted', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); }, config: { maxWaiters: 2 } });
    const ids = ['a', 'b', 'c'].map((s) => containerIdFor(`app/${s}/${s}`));
    const first = h.cache.resolve(ids[0] ?? '', { waitMs: 5_000 });
    const second = h.cache.resolve(ids[1] ?? '', { waitMs: 5_000 });
    const third = await h.cache.resolve(ids[2] ?? '', { waitMs: 5_000 });
    assert.equal(!third.ok && third.unknown.reason, 'too-many-waiters');
    assert.equal(h.cache.stats().waiters.exceeded, 1);
    assert.equal(h.cache.stats().waiters.pending, 2);
    createBarePod(h.api, 'app', 'a');
    createBarePod(h.api, 'app', 'b');
    const [r1, r2] = await Promise.all([first, second]);
    assert.equal(r1.ok && r1.identity.pod, 'a');
    assert.equal(r2.ok && r2.identity.pod, 'b');
  });

  it('caps waitMs at maxWaitMs', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); }, config: { maxWaitMs: 100, defaultWaitMs: 50 } });
    const r = await h.cache.resolve(containerIdFor('x'), { waitMs: 600_000 });
    assert.equal(!r.ok && r.unknown.reason, 'not-found');
    assert.equal(h.cache.stats().waiters.timedOut, 1);
  });

  it('close() answers waiting lookups with closed, and later lookups too', async () => {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); } });
    const pending = h.cache.resolve(containerIdFor('gone/soon'), { waitMs: 30_000 });
    await pollUntil('waiting', () => h?.cache.stats().waiters.pending === 1);
    await h.cache.close();
    const r = await pending;
    assert.equal(!r.ok && r.unknown.reason, 'closed');
    const after = h.cache.lookup(containerIdFor('gone/soon'));
    assert.equal(!after.ok && after.unknown.reason, 'closed');
    const api = h.api;
    await pollUntil('every watch connection closed after close()', () => api.activeWatches() === 0);
  });

  it('mode none answers disabled at once and starts nothing', async () => {
    const cache = createIdentityCache(defaultConfig(), { logger: pino({ level: 'silent' }) });
    assert.deepEqual(await cache.start(), { synced: false });
    const r = await cache.resolve(containerIdFor('any'), { waitMs: 5_000 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.unknown.reason, 'disabled');
      assert.match(r.unknown.message, /disabled/);
    }
    assert.equal(cache.stats().waiters.pending, 0);
    assert.equal(cache.stats().informers.length, 0);
    await cache.close();
  });

  it('kubeconfig mode with a missing file fails at start, naming the path', async () => {
    const cache = createIdentityCache({ ...defaultConfig(), mode: 'kubeconfig', kubeconfigPath: '/nonexistent/palisade/kubeconfig' },
      { logger: pino({ level: 'silent' }) });
    await assert.rejects(cache.start(), /\/nonexistent\/palisade\/kubeconfig does not exist/);
    await cache.close();
  });

  it('an invalid config is refused by the factory with every problem named', () => {
    assert.throws(() => createIdentityCache({ ...defaultConfig(), mode: 'cluster' as never, maxWaiters: -1 }),
      /k8s\.mode: must be one of in-cluster, kubeconfig, none \(got "cluster"\)[\s\S]*k8s\.maxWaiters/);
  });
});

describe('relay/k8s identity: resync', () => {
  it('re-derives the index from the stores periodically, keeping lookups right', async () => {
    const h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); createBarePod(api, 'app', 'steady'); }, config: { resyncMs: 50 } });
    try {
      await pollUntil('two resyncs', () => h.cache.stats().resyncs >= 2);
      const r = h.cache.lookup(containerIdFor('app/steady/steady'));
      assert.equal(r.ok && r.identity.pod, 'steady');
      h.api.delete('pods', 'app', 'steady');
      await pollUntil('deleted pod gone', () => !h.cache.lookup(containerIdFor('app/steady/steady')).ok);
      const resyncs = h.cache.stats().resyncs;
      await pollUntil('another resync', () => h.cache.stats().resyncs > resyncs);
      assert.equal(h.cache.stats().containers, 0);
    } finally {
      await h.close();
    }
  });
});
