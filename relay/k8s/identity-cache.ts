// The identity cache: informers on pods, namespaces, nodes and the owner chain, a
// container-id index fed by the pod informer, and bounded waiting for containers that
// are not known yet.
// Invariants:
// - The index only ever reflects the pod informer's store (updated by its add/update/
//   delete callbacks; re-derived from the store on every resync), so after a relist the
//   containers of pods that vanished while disconnected are gone and new ones are present.
// - Lookups are synchronous map reads; identities are memoised per container and rebuilt
//   when the pod object or any ReplicaSet/Job changes. No per-lookup logging.
// - Waiting is bounded in time (min(waitMs, maxWaitMs)) and in count (maxWaiters).
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { IdentityCache, IdentityCacheStats, ResolveResult, UnknownReason } from './api.js';
import { UNKNOWN_REASONS } from './api.js';
import type { K8sIdentityConfig } from './config.js';
import { normaliseContainerId } from './container-id.js';
import { ContainerIndex, podKeyOf, type ContainerRef } from './container-index.js';
import {
  CLIMB_THROUGH, buildIdentity, namespaceInfoOf, nodeInfoOf, podSummaryOf, type ContainerIdentity,
} from './identity.js';
import { createManagedInformer, type ManagedInformer } from './informer.js';
import { loadKubeConfig, resourceAccess, type WatchedResource } from './kube-client.js';
import { Tombstones } from './tombstones.js';
import { Waiters } from './waiters.js';

/** one answer per container, reused while neither its pod nor any owner changed */
type Memo = { readonly pod: V1Pod; readonly ownerGen: number; readonly result: ResolveResult };

const SYNC_POLL_MS = 20;

export function createInformerIdentityCache(config: K8sIdentityConfig, logger: Logger): IdentityCache {
  const log = logger.child({ component: 'relay.k8s' });
  const memo = new Map<string, Memo>();
  const tombstones = new Tombstones(config.deletedRetentionMs, config.maxDeleted);
  /** the pod being deleted, while its containers leave the index (no longer in the store) */
  let deletingPod: V1Pod | undefined;
  const index = new ContainerIndex((ref) => {
    memo.delete(ref.id);
    if (config.deletedRetentionMs <= 0 || closed) return;
    const pod = deletingPod ?? (podsCache()?.get(ref.pod, ref.namespace) as V1Pod | undefined);
    if (pod === undefined) return;
    const rebuild = (): ContainerIdentity => ({ ...buildIdentity(ref, pod, ownerLookup), removed: true });
    tombstones.add(rebuild(), Date.now(), rebuild);
  });
  const waiters = new Waiters(config.maxWaiters);
  const informers = new Map<WatchedResource, ManagedInformer<KubernetesObject>>();
  const byKind = new Map<string, ManagedInformer<KubernetesObject>>();
  const unknownCounts = Object.fromEntries(UNKNOWN_REASONS.map((r) => [r, 0])) as Record<UnknownReason, number>;
  let ownerGen = 0;
  let hits = 0;
  let removedHits = 0;
  let resyncs = 0;
  let started = false;
  let closed = false;
  let resyncTimer: NodeJS.Timeout | undefined;

  const unknown = (reason: UnknownReason, message: string, waitedMs: number): ResolveResult => {
    unknownCounts[reason] += 1;
    return { ok: false, unknown: { reason, message }, waitedMs };
  };

  const podsCache = () => informers.get('pods')?.cache;
  const ownerLookup = (kind: string, namespace: string, name: string): KubernetesObject | undefined =>
    byKind.get(kind)?.cache.get(name, namespace);

  const upsertPod = (pod: V1Pod): void => {
    for (const added of index.setPod(pod)) {
      tombstones.remove(added.id);
      waiters.notify(added.id);
    }
  };
  const deletePod = (pod: V1Pod): void => {
    deletingPod = pod;
    try {
      index.removePod(pod.metadata?.namespace, pod.metadata?.name);
    } finally {
      deletingPod = undefined;
    }
  };
  /** A removed container's retained identity, if any (after a live miss). */
  const removed = (id: string): ResolveResult | undefined => {
    const t = tombstones.find(id, Date.now());
    if (t === undefined) return undefined;
    removedHits += 1;
    return { ok: true, identity: t, waitedMs: 0 };
  };

  const synced = (): boolean => informers.size > 0 && [...informers.values()].every((i) => i.synced());

  /** Index lookup without counting; undefined = not found (the caller decides the reason). */
  const find = (raw: string): ResolveResult | { readonly id: string; readonly miss: 'not-found' } => {
    if (config.mode === 'none') return unknown('disabled', 'Kubernetes enrichment is disabled (k8s.mode "none")', 0);
    if (closed) return unknown('closed', 'identity cache is closed', 0);
    const id = normaliseContainerId(raw);
    if (id === undefined) return unknown('invalid-container-id', `not a container id: ${JSON.stringify(raw.slice(0, 80))}`, 0);
    const hit = index.find(id);
    if (!hit.found) {
      if (hit.ambiguous) return unknown('ambiguous-prefix', `container id prefix ${id} matches more than one container`, 0);
      return removed(id) ?? { id, miss: 'not-found' };
    }
    return live(hit.ref) ?? removed(id) ?? { id, miss: 'not-found' };
  };
  /** The memoised identity of an indexed container whose pod is cached (a hit, counted), else undefined. */
  const live = (ref: ContainerRef): ResolveResult | undefined => {
    const pod = podsCache()?.get(ref.pod, ref.namespace) as V1Pod | undefined;
    if (pod === undefined) return undefined;
    hits += 1;
    const m = memo.get(ref.id);
    if (m !== undefined && m.pod === pod && m.ownerGen === ownerGen) return m.result;
    const result: ResolveResult = Object.freeze({ ok: true, identity: Object.freeze(buildIdentity(ref, pod, ownerLookup)), waitedMs: 0 });
    memo.set(ref.id, { pod, ownerGen, result });
    return result;
  };

  const notFound = (id: string, waitedMs: number): ResolveResult => unknown('not-found',
    `container ${id} is in no pod known to the Kubernetes cache${waitedMs > 0 ? ` after waiting ${waitedMs} ms` : ''}${synced() ? '' : ' (cache not synced yet)'}`,
    waitedMs);

  const resync = (): void => {
    const pods = podsCache();
    if (pods === undefined) return;
    const keep = new Set<string>();
    for (const p of pods.list() as V1Pod[]) {
      keep.add(podKeyOf(p.metadata?.namespace, p.metadata?.name));
      upsertPod(p);
    }
    index.retainPods(keep);
    tombstones.sweep(Date.now());
    ownerGen += 1;
    resyncs += 1;
  };

  const waitForSync = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i <= Math.ceil(timeoutMs / SYNC_POLL_MS) + 1; i++) {
      if (synced()) return true;
      if (closed || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, SYNC_POLL_MS));
    }
    return synced();
  };

  return {
    mode: config.mode,

    start: async () => {
      if (closed) throw new Error('identity cache: start() after close()');
      if (config.mode === 'none' || started) return { synced: synced() };
      const loaded = loadKubeConfig(config);
      if (!loaded.ok) throw new Error(loaded.error);
      started = true;
      log.info({ source: loaded.source }, 'starting Kubernetes informers');
      for (const r of resourceAccess(loaded.kubeConfig)) {
        const isPods = r.resource === 'pods';
        // only the links the owner chain climbs through change an identity (identity.ts);
        // node, namespace and top-owner updates (frequent status writes) keep the memo
        const bump = CLIMB_THROUGH.has(r.kind) ? () => { ownerGen += 1; } : () => undefined;
        const inf = createManagedInformer<KubernetesObject>({
          kubeConfig: loaded.kubeConfig, resource: r.resource, path: r.path, list: r.list,
          watchIdleTimeoutMs: config.watchIdleTimeoutMs, reconnectMaxDelayMs: config.reconnectMaxDelayMs,
          restartBackoffInitialMs: config.restartBackoffInitialMs, restartBackoffMaxMs: config.restartBackoffMaxMs,
          logger: log,
          onUpsert: isPods ? (o) => upsertPod(o as V1Pod) : bump,
          onDelete: isPods ? (o) => deletePod(o as V1Pod) : bump,
        });
        informers.set(r.resource, inf);
        byKind.set(r.kind, inf);
      }
      for (const inf of informers.values()) inf.start();
      if (config.resyncMs > 0) {
        resyncTimer = setInterval(resync, config.resyncMs);
        resyncTimer.unref();
      }
      const ok = await waitForSync(config.syncTimeoutMs);
      if (!ok) log.warn({ syncTimeoutMs: config.syncTimeoutMs }, 'Kubernetes informers not synced yet; lookups may miss until they are');
      return { synced: ok };
    },

    peek: (raw) => {
      if (config.mode === 'none' || closed) return undefined;
      const id = normaliseContainerId(raw);
      if (id === undefined) return undefined;
      const hit = index.find(id);
      const r = hit.found ? live(hit.ref) : undefined;
      return r?.ok ? r.identity : undefined;
    },

    lookup: (raw) => {
      const r = find(raw);
      return 'miss' in r ? notFound(r.id, 0) : r;
    },

    resolve: async (raw, opts) => {
      const first = find(raw);
      if (!('miss' in first)) return first;
      const waitMs = Math.max(0, Math.min(opts?.waitMs ?? config.defaultWaitMs, config.maxWaitMs));
      if (waitMs === 0) return notFound(first.id, 0);
      const t0 = performance.now();
      const w = waiters.wait(first.id, waitMs);
      if (w === 'too-many-waiters') {
        return unknown('too-many-waiters', `container ${first.id} unknown and ${config.maxWaiters} lookups are already waiting; not waiting`, 0);
      }
      const outcome = await w;
      const waitedMs = Math.round(performance.now() - t0);
      if (outcome === 'closed') return unknown('closed', 'identity cache closed while waiting', waitedMs);
      const again = find(raw);
      if ('miss' in again) return notFound(again.id, waitedMs);
      return { ...again, waitedMs };
    },

    namespace: (name) => {
      const ns = informers.get('namespaces')?.cache.get(name);
      return ns === undefined ? undefined : namespaceInfoOf(ns);
    },

    node: (name) => {
      const n = informers.get('nodes')?.cache.get(name);
      return n === undefined ? undefined : nodeInfoOf(n);
    },

    pods: (match) => {
      const want = Object.entries(match?.labels ?? {});
      const out = [];
      for (const p of (podsCache()?.list(match?.namespace) ?? []) as V1Pod[]) {
        const l = p.metadata?.labels ?? {};
        if (want.every(([k, v]) => l[k] === v)) out.push(podSummaryOf(p));
      }
      return out;
    },

    waitForSync,

    stats: (): IdentityCacheStats => {
      const inf = [...informers.values()].map((i) => i.stats());
      const sum = (k: 'relists' | 'watchRestarts' | 'gone' | 'errors' | 'bookmarks'): number => inf.reduce((a, s) => a + s[k], 0);
      const objects = (r: WatchedResource): number => inf.find((s) => s.resource === r)?.objects ?? 0;
      return {
        mode: config.mode, started, synced: synced(),
        containers: index.size, pods: objects('pods'), namespaces: objects('namespaces'), nodes: objects('nodes'),
        relists: sum('relists'), watchRestarts: sum('watchRestarts'), gone: sum('gone'), errors: sum('errors'),
        bookmarks: sum('bookmarks'), resyncs, hits, removedHits,
        removedRetained: tombstones.size, removedDropped: tombstones.droppedCount, unknown: { ...unknownCounts }, waiters: waiters.stats(), informers: inf,
      };
    },

    close: async () => {
      if (closed) return;
      closed = true;
      if (resyncTimer !== undefined) clearInterval(resyncTimer);
      waiters.closeAll();
      await Promise.all([...informers.values()].map((i) => i.stop()));
    },
  };
}

