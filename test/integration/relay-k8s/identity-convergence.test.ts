// Convergence under churn and faults: a seeded random sequence of pod creations,
// deletions, label changes and container restarts, interleaved with broken watches,
// 410 Expired, history compaction, bookmarks and clean server-side ends. Afterwards the
// cache must agree exactly with the server: every live container resolves to its pod
// and current labels, and no removed container resolves.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerIdFor, createNamespace, podObject } from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { seededRandom } from '../../support/prng.js';
import { startHarness, type Harness } from './harness.js';

const rng = seededRandom;

type Live = { labels: Record<string, string>; ids: string[]; gen: number };

describe('relay/k8s identity: convergence under churn and faults', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });

  for (const seed of [1, 2]) {
    it(`agrees with the API server after 300 random steps (seed ${seed})`, async () => {
      h = await startHarness({ seed: (api) => { createNamespace(api, 'churn'); }, server: { historyLimit: 40 } });
      const api = h.api;
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
      const live = new Map<string, Live>();
      const removedIds = new Set<string>();
      let next = 0;
      const faults: Record<string, number> = {};
      const fault = (name: string): void => { faults[name] = (faults[name] ?? 0) + 1; };

      for (let step = 0; step < 300; step++) {
        const r = rand();
        const names = [...live.keys()];
        if (r < 0.3 || names.length === 0) {
          const name = `p${next++}`;
          const labels = { app: `a${Math.floor(rand() * 5)}` };
          const ids = [containerIdFor(`churn/${name}/c/0`)];
          api.create('pods', podObject('churn', name, { labels, containers: [{ name: 'c', image: 'img:1', id: ids[0] }] }).pod);
          live.set(name, { labels, ids, gen: 0 });
        } else if (r < 0.45) {
          const name = pick(names) ?? '';
          api.delete('pods', 'churn', name);
          for (const id of live.get(name)?.ids ?? []) removedIds.add(id);
          live.delete(name);
        } else if (r < 0.6) {
          const name = pick(names) ?? '';
          const l = live.get(name);
          if (l === undefined) continue;
          l.labels = { app: `a${Math.floor(rand() * 5)}`, step: String(step) };
          api.patch('pods', 'churn', name, (o) => { o.metadata.labels = { ...l.labels }; });
        } else if (r < 0.7) {
          const name = pick(names) ?? '';
          const l = live.get(name);
          if (l === undefined) continue;
          for (const id of l.ids) removedIds.add(id);
          l.gen += 1;
          l.ids = [containerIdFor(`churn/${name}/c/${l.gen}`)];
          const fresh = podObject('churn', name, { labels: l.labels, containers: [{ name: 'c', image: 'img:1', id: l.ids[0] }] });
          api.patch('pods', 'churn', name, (o) => { o.status = fresh.pod.status; });
        } else if (r < 0.76) {
          api.breakWatches('pods', { partialLine: rand() < 0.5 }); fault('break');
        } else if (r < 0.8) {
          api.expireWatches('pods'); fault('expire');
        } else if (r < 0.84) {
          api.compact(); api.breakWatches('pods'); fault('compact+break');
        } else if (r < 0.9) {
          api.bookmark('pods'); fault('bookmark');
        } else if (r < 0.93) {
          api.endWatches('pods'); fault('end');
        }
        // let the informer run now and then, so faults hit it in different states
        if (step % 7 === 0) await new Promise((res) => setImmediate(res));
      }
      for (const id of live.values()) for (const c of id.ids) removedIds.delete(c);

      const cache = h.cache;
      const mismatch = (): string | undefined => {
        for (const [name, l] of live) {
          for (const id of l.ids) {
            const x = cache.lookup(id);
            if (!x.ok) return `${name}/${id.slice(0, 12)}: ${x.unknown.reason}`;
            if (x.identity.pod !== name) return `${id.slice(0, 12)} resolves to ${x.identity.pod}, not ${name}`;
            const want = Object.keys(l.labels).sort().map((k) => `${k}=${l.labels[k] ?? ''}`).join(',');
            if (x.identity.labels !== want) return `${name}: labels ${x.identity.labels} != ${want}`;
          }
        }
        for (const id of removedIds) if (cache.lookup(id).ok) return `removed ${id.slice(0, 12)} still resolves`;
        const containers = [...live.values()].reduce((n, l) => n + l.ids.length, 0);
        if (cache.stats().containers !== containers) return `cache has ${cache.stats().containers} containers, server ${containers}`;
        return undefined;
      };
      try {
        await pollUntil(`cache to agree with the server (faults ${JSON.stringify(faults)})`, () => mismatch() === undefined, { timeoutMs: 20_000 });
      } catch (err) {
        assert.fail(`${(err as Error).message}; first mismatch: ${mismatch() ?? 'none'}`);
      }
      const s = h.cache.stats();
      assert.ok((s.informers.find((i) => i.resource === 'pods')?.watchRestarts ?? 0) > 0);
      assert.ok(Object.keys(faults).length >= 4, `faults exercised: ${JSON.stringify(faults)}`);
    });
  }
});
