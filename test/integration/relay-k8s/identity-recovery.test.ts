// The identity cache when the API misbehaves: broken watches, 410 Gone (as an ERROR event
// and as HTTP 410), compacted history, bookmarks, stalled and slow watches, failing
// lists. The cache must keep serving what it has while it recovers, then reflect what
// changed while it was disconnected. Held requests (api.hold) make "while disconnected"
// and "while relisting" deterministic instead of timed.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBarePod, createDeployment, createNamespace, createNode } from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { startHarness, type Harness } from './harness.js';
import type { InformerStats } from '../../../relay/k8s/informer.js';

function podStats(h: Harness): InformerStats {
  const s = h.cache.stats().informers.find((i) => i.resource === 'pods');
  assert.ok(s, 'pods informer stats');
  return s;
}

const known = (h: Harness, id: string): boolean => h.cache.lookup(id).ok;
const gone = (h: Harness, id: string): boolean => {
  const r = h.cache.lookup(id);
  return !r.ok && r.unknown.reason === 'not-found';
};

describe('relay/k8s identity: recovery', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });

  /** Seeds two bare pods: `keep` survives the outage, `doomed` is deleted during it. */
  async function started(opts: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
    h = await startHarness({ seed: (api) => { createNamespace(api, 'app'); createBarePod(api, 'app', 'keep'); createBarePod(api, 'app', 'doomed'); }, ...opts });
    return h;
  }

  it('a broken watch resumes from its resourceVersion and replays what changed meanwhile (no relist)', async () => {
    const h = await started();
    const keepId = createIdOf(h, 'keep');
    const doomedId = createIdOf(h, 'doomed');
    const before = podStats(h);
    const gate = h.api.hold({ resource: 'pods', verb: 'watch' });
    assert.equal(h.api.breakWatches('pods', { partialLine: true }), 1);
    await pollUntil('the informer to try to re-watch', () => gate.waiting() === 1);
    // disconnected: change things, and check the cache still answers from what it had
    const fresh = createBarePod(h.api, 'app', 'fresh');
    h.api.delete('pods', 'app', 'doomed');
    assert.ok(known(h, keepId) && known(h, doomedId), 'cache keeps serving while the watch is down');
    gate.release();
    await pollUntil('changes made while disconnected', () => known(h, fresh.containerIds[0] ?? '') && gone(h, doomedId));
    assert.ok(known(h, keepId));
    const after = podStats(h);
    assert.equal(after.relists, before.relists, 'a resumable watch needs no relist');
    assert.ok(after.watchRestarts > before.watchRestarts);
    assert.ok(after.errors > before.errors, 'the cut stream is counted as an error');
    assert.equal(after.gone, before.gone);
  });

  it('a broken watch whose history was compacted gets 410, relists, keeps serving during the relist, then drops deleted pods and adds new ones', async () => {
    const h = await started();
    const keepId = createIdOf(h, 'keep');
    const doomedId = createIdOf(h, 'doomed');
    const before = podStats(h);
    const watchGate = h.api.hold({ resource: 'pods', verb: 'watch' });
    h.api.breakWatches('pods');
    await pollUntil('the informer to try to re-watch', () => watchGate.waiting() === 1);
    const fresh = createBarePod(h.api, 'app', 'fresh');
    h.api.delete('pods', 'app', 'doomed');
    h.api.compact();
    const listGate = h.api.hold({ resource: 'pods', verb: 'list' });
    watchGate.release();
    await pollUntil('the relist to be requested', () => listGate.waiting() === 1);
    // relisting: the old state is still served, the new pod not yet
    assert.equal(podStats(h).listing, true);
    assert.equal(podStats(h).gone, before.gone + 1);
    assert.ok(known(h, keepId) && known(h, doomedId), 'cache keeps serving during the relist');
    assert.equal(known(h, fresh.containerIds[0] ?? ''), false);
    listGate.release();
    await pollUntil('relist applied', () => known(h, fresh.containerIds[0] ?? '') && gone(h, doomedId));
    assert.ok(known(h, keepId));
    const after = podStats(h);
    assert.equal(after.relists, before.relists + 1);
    assert.equal(after.listing, false);
  });

  it('an ERROR 410 Expired event on a live watch makes the informer relist, keeping the cache meanwhile', async () => {
    const h = await started();
    const keepId = createIdOf(h, 'keep');
    const before = podStats(h);
    const listGate = h.api.hold({ resource: 'pods', verb: 'list' });
    assert.equal(h.api.expireWatches('pods'), 1);
    await pollUntil('relist requested after 410', () => listGate.waiting() === 1);
    assert.equal(podStats(h).gone, before.gone + 1);
    assert.ok(known(h, keepId));
    h.api.delete('pods', 'app', 'keep');
    const late = createBarePod(h.api, 'app', 'late');
    listGate.release();
    await pollUntil('relist applied', () => gone(h, keepId) && known(h, late.containerIds[0] ?? ''));
    assert.equal(podStats(h).relists, before.relists + 1);
    assert.equal(h.cache.stats().gone >= 1, true);
  });

  it('an HTTP 410 answer to a watch (goneStyle http) also relists', async () => {
    const h = await started({ server: { goneStyle: 'http' } });
    const before = podStats(h);
    const watchGate = h.api.hold({ resource: 'pods', verb: 'watch' });
    h.api.breakWatches('pods');
    await pollUntil('re-watch held', () => watchGate.waiting() === 1);
    const fresh = createBarePod(h.api, 'app', 'fresh');
    h.api.compact();
    watchGate.release();
    await pollUntil('new pod seen after relist', () => known(h, fresh.containerIds[0] ?? ''));
    const after = podStats(h);
    assert.equal(after.gone, before.gone + 1);
    assert.equal(after.relists, before.relists + 1);
    assert.ok(h.api.requests({ resource: 'pods', verb: 'watch' }).some((r) => r.status === 410));
  });

  it('bookmarks advance the resourceVersion, so a watch broken after compaction resumes without 410', async () => {
    const h = await started();
    const before = podStats(h);
    createNode(h.api, 'node-9'); // moves the global resourceVersion past the pods' last event
    const target = String(h.api.resourceVersion);
    assert.notEqual(before.resourceVersion, target);
    assert.equal(h.api.bookmark('pods'), 1, 'the pod watch asked for bookmarks');
    await pollUntil('bookmark applied', () => podStats(h).resourceVersion === target);
    assert.equal(podStats(h).bookmarks, before.bookmarks + 1);
    h.api.compact();
    const watchesBefore = h.api.requestCount({ resource: 'pods', verb: 'watch' });
    h.api.breakWatches('pods');
    await pollUntil('re-watch', () => h.api.requestCount({ resource: 'pods', verb: 'watch' }) > watchesBefore && h.api.activeWatches('pods') === 1);
    const rewatch = h.api.requests({ resource: 'pods', verb: 'watch' }).at(-1);
    assert.equal(rewatch?.query.resourceVersion, target, 'resumed from the bookmark');
    assert.equal(rewatch?.status, 200);
    const fresh = createBarePod(h.api, 'app', 'after-bookmark');
    await pollUntil('event after resume', () => known(h, fresh.containerIds[0] ?? ''));
    assert.equal(podStats(h).gone, before.gone);
    assert.equal(podStats(h).relists, before.relists);
  });

  it('a stalled watch is abandoned after the idle timeout and resumed; a slow one still delivers', async () => {
    const h = await started({ config: { watchIdleTimeoutMs: 300 } });
    const before = podStats(h);
    h.api.setWatchStall(true);
    const fresh = createBarePod(h.api, 'app', 'during-stall');
    await pollUntil('idle timeout and re-watch', () => podStats(h).idleTimeouts > before.idleTimeouts);
    assert.equal(known(h, fresh.containerIds[0] ?? ''), false, 'nothing was delivered while stalled');
    h.api.setWatchStall(false);
    await pollUntil('stalled event delivered after resume', () => known(h, fresh.containerIds[0] ?? ''));
    h.api.setWatchDelay(100);
    const slow = createBarePod(h.api, 'app', 'slow');
    const r = await h.cache.resolve(slow.containerIds[0] ?? '', { waitMs: 5_000 });
    assert.equal(r.ok, true, r.ok ? '' : r.unknown.message);
    h.api.setWatchDelay(0);
    assert.equal(podStats(h).gone, before.gone);
  });

  it('failing lists at start are retried with back-off until the informer syncs', async () => {
    const h = await started({
      start: false,
      seed: (api) => {
        createNamespace(api, 'app');
        createDeployment(api, { namespace: 'app', name: 'web' });
        api.failNext({ resource: 'pods', verb: 'list', status: 500, count: 2 });
        api.failNext({ resource: 'replicasets', verb: 'list', status: 503, count: 1 });
      },
    });
    const { synced } = await h.cache.start();
    assert.equal(synced, true);
    const s = podStats(h);
    assert.equal(s.errors, 2);
    assert.equal(s.lists, 3);
    assert.match(s.lastError ?? '', /500/);
    const pods = h.api.requests({ resource: 'pods', verb: 'list' }).map((r) => r.status);
    assert.deepEqual(pods, [500, 500, 200]);
    const pod = h.api.requests({ resource: 'pods', verb: 'list' }).length;
    assert.equal(pod, 3);
    const web = h.cache.stats();
    assert.equal(web.containers, 1);
  });
});

/** The container id of a seeded bare pod (fixtures derive it from namespace/pod/container). */
function createIdOf(h: Harness, pod: string): string {
  const p = h.api.get('pods', 'app', pod);
  const status = p?.status as { containerStatuses?: Array<{ containerID?: string }> } | undefined;
  const raw = status?.containerStatuses?.[0]?.containerID ?? '';
  assert.match(raw, /^containerd:\/\/[0-9a-f]{64}$/);
  return raw.slice('containerd://'.length);
}
