// Index from container id to the pod container it belongs to, kept in step with the pod
// informer. Lookups take a full 64-hex id (one map read) or a prefix of at least
// MIN_PREFIX characters (one map read of the prefix bucket, then a scan of that bucket).
// Invariants: byId, byPrefix and byPod always describe the same set of containers; a pod
// update replaces exactly the ids that pod had before, so a re-created pod with the same
// name never leaves its old containers behind.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { FULL_ID, MIN_PREFIX, normaliseContainerId } from './container-id.js';

export type ContainerRef = {
  readonly id: string;
  readonly podKey: string;
  readonly namespace: string;
  readonly pod: string;
  readonly name: string;
  readonly image: string;
  readonly imageId: string;
  readonly kind: 'container' | 'init' | 'ephemeral';
};

export type IndexLookup =
  | { readonly found: true; readonly ref: ContainerRef }
  | { readonly found: false; readonly ambiguous: boolean };

export function podKeyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function refsOf(pod: V1Pod): ContainerRef[] {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const podKey = podKeyOf(namespace, name);
  const out: ContainerRef[] = [];
  const add = (list: readonly V1ContainerStatus[] | undefined, kind: ContainerRef['kind']): void => {
    for (const s of list ?? []) {
      if (typeof s.containerID !== 'string') continue;
      const id = normaliseContainerId(s.containerID);
      if (id === undefined || id.length !== FULL_ID) continue;
      out.push({ id, podKey, namespace, pod: name, name: s.name ?? '', image: s.image ?? '', imageId: s.imageID ?? '', kind });
    }
  };
  add(pod.status?.containerStatuses, 'container');
  add(pod.status?.initContainerStatuses, 'init');
  add(pod.status?.ephemeralContainerStatuses, 'ephemeral');
  return out;
}

export class ContainerIndex {
  private readonly byId = new Map<string, ContainerRef>();
  private readonly byPrefix = new Map<string, Set<string>>();
  private readonly byPod = new Map<string, readonly string[]>();

  /** `onRemove` hears of every container leaving the index (to drop or keep what callers derived). */
  constructor(private readonly onRemove: (ref: ContainerRef) => void = () => undefined) {}

  get size(): number { return this.byId.size; }
  get pods(): number { return this.byPod.size; }

  /** Indexes a pod's current containers; returns the refs that were not indexed before. */
  setPod(pod: V1Pod): ContainerRef[] {
    const key = podKeyOf(pod.metadata?.namespace, pod.metadata?.name);
    const refs = refsOf(pod);
    const old = new Set(this.byPod.get(key) ?? []);
    const added: ContainerRef[] = [];
    for (const r of refs) {
      const prev = this.byId.get(r.id);
      if (!old.delete(r.id) && prev === undefined) added.push(r);
      if (prev !== undefined && prev.podKey !== key) this.dropFromPod(prev);
      this.byId.set(r.id, r);
      const p = r.id.slice(0, MIN_PREFIX);
      let bucket = this.byPrefix.get(p);
      if (bucket === undefined) { bucket = new Set(); this.byPrefix.set(p, bucket); }
      bucket.add(r.id);
    }
    for (const gone of old) this.removeId(gone);
    if (refs.length === 0) this.byPod.delete(key);
    else this.byPod.set(key, refs.map((r) => r.id));
    return added;
  }

  removePod(namespace: string | undefined, name: string | undefined): void {
    const key = podKeyOf(namespace, name);
    for (const id of this.byPod.get(key) ?? []) this.removeId(id);
    this.byPod.delete(key);
  }

  /** Drops everything not in `keep` (pod keys); used after a resync from the store. */
  retainPods(keep: ReadonlySet<string>): void {
    for (const [key, ids] of [...this.byPod]) {
      if (keep.has(key)) continue;
      for (const id of ids) this.removeId(id);
      this.byPod.delete(key);
    }
  }

  /** `id` must already be normalised. */
  find(id: string): IndexLookup {
    if (id.length === FULL_ID) {
      const ref = this.byId.get(id);
      return ref === undefined ? { found: false, ambiguous: false } : { found: true, ref };
    }
    const bucket = this.byPrefix.get(id.slice(0, MIN_PREFIX));
    let hit: ContainerRef | undefined;
    for (const full of bucket ?? []) {
      if (!full.startsWith(id)) continue;
      if (hit !== undefined) return { found: false, ambiguous: true };
      hit = this.byId.get(full);
    }
    return hit === undefined ? { found: false, ambiguous: false } : { found: true, ref: hit };
  }

  private dropFromPod(ref: ContainerRef): void {
    const ids = this.byPod.get(ref.podKey);
    if (ids === undefined) return;
    const rest = ids.filter((i) => i !== ref.id);
    if (rest.length === 0) this.byPod.delete(ref.podKey);
    else this.byPod.set(ref.podKey, rest);
  }

  private removeId(id: string): void {
    const ref = this.byId.get(id);
    this.byId.delete(id);
    if (ref !== undefined) this.onRemove(ref);
    const p = id.slice(0, MIN_PREFIX);
    const bucket = this.byPrefix.get(p);
    if (bucket === undefined) return;
    bucket.delete(id);
    if (bucket.size === 0) this.byPrefix.delete(p);
  }
}
