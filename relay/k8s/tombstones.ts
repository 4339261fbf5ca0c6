// Identities of containers whose pod was deleted (or that were replaced by a restart),
// kept for a short retention so events that arrive late (an enforcer's spool, a slow
// link) are still enriched, marked `podDeleted: true`.
// Capacity: `max` entries; overflow policy drop_oldest (counted in `dropped`); entries
// expire `retentionMs` after removal (swept on access and by sweep()). Insertion order
// is removal order, and retention is one constant, so the oldest entry expires first.
import { MIN_PREFIX } from './container-id.js';
import type { ContainerIdentity } from './identity.js';

type Entry = {
  identity: ContainerIdentity;
  readonly expires: number;
  /** rebuilds the identity from the caches; used while the owner chain was incomplete */
  readonly rebuild: (() => ContainerIdentity) | undefined;
};

/** An owner link missing at removal time (informer streams are not ordered) may have arrived since. */
function current(e: Entry): ContainerIdentity {
  if (!e.identity.ownerComplete && e.rebuild !== undefined) {
    const again = e.rebuild();
    if (again.ownerComplete) e.identity = again;
  }
  return e.identity;
}

export class Tombstones {
  private readonly byId = new Map<string, Entry>();
  private readonly byPrefix = new Map<string, Set<string>>();
  private dropped = 0;

  constructor(private readonly retentionMs: number, private readonly max: number) {}

  get size(): number { return this.byId.size; }
  get droppedCount(): number { return this.dropped; }

  add(identity: ContainerIdentity, now: number, rebuild?: () => ContainerIdentity): void {
    if (this.retentionMs <= 0 || this.max <= 0) return;
    const id = identity.containerId;
    this.remove(id);
    this.byId.set(id, { identity, expires: now + this.retentionMs, rebuild });
    const p = id.slice(0, MIN_PREFIX);
    let bucket = this.byPrefix.get(p);
    if (bucket === undefined) { bucket = new Set(); this.byPrefix.set(p, bucket); }
    bucket.add(id);
    while (this.byId.size > this.max) {
      const oldest = this.byId.keys().next();
      if (oldest.done === true) break;
      this.remove(oldest.value);
      this.dropped += 1;
    }
  }

  /** A container that is live again (same id re-indexed) is no longer a tombstone. */
  remove(id: string): void {
    if (!this.byId.delete(id)) return;
    const p = id.slice(0, MIN_PREFIX);
    const bucket = this.byPrefix.get(p);
    bucket?.delete(id);
    if (bucket?.size === 0) this.byPrefix.delete(p);
  }

  /** `id` normalised (full id or prefix); undefined when absent, expired or ambiguous. */
  find(id: string, now: number): ContainerIdentity | undefined {
    this.sweep(now);
    if (this.byId.size === 0) return undefined;
    const exact = this.byId.get(id);
    if (exact !== undefined) return current(exact);
    let hit: Entry | undefined;
    for (const full of this.byPrefix.get(id.slice(0, MIN_PREFIX)) ?? []) {
      if (!full.startsWith(id)) continue;
      if (hit !== undefined) return undefined;
      hit = this.byId.get(full);
    }
    return hit === undefined ? undefined : current(hit);
  }

  sweep(now: number): void {
    for (const [id, e] of this.byId) {
      if (e.expires > now) break;
      this.remove(id);
    }
  }
}
