// Bounded set of lookups waiting for a container id to appear in the index.
// Capacity: `max` waiters in total; overflow policy: drop_newest (the caller that would
// exceed it is answered at once with 'too-many-waiters', counted in `exceeded`).
// Each waiter ends exactly once: woken by notify() (the id or a prefix of it appeared),
// by its own timer (counted in `timedOut`), or by closeAll() at shutdown (answered 'closed').
import { MIN_PREFIX } from './container-id.js';

export type WaitOutcome = 'appeared' | 'timeout' | 'closed';

type Waiter = {
  readonly id: string;
  readonly done: (o: WaitOutcome) => void;
  timer: NodeJS.Timeout | undefined;
};

export type WaiterStats = {
  readonly pending: number;
  readonly exceeded: number;
  readonly timedOut: number;
  readonly woken: number;
};

export class Waiters {
  /** keyed by the first MIN_PREFIX characters, so full ids and prefixes meet in one bucket */
  private readonly byPrefix = new Map<string, Set<Waiter>>();
  private count = 0;
  private exceeded = 0;
  private timedOut = 0;
  private woken = 0;

  constructor(private readonly max: number) {}

  /** Resolves when `id` (normalised; full id or prefix) appears, the wait ends, or close. */
  wait(id: string, ms: number): Promise<WaitOutcome> | 'too-many-waiters' {
    if (this.count >= this.max) { this.exceeded += 1; return 'too-many-waiters'; }
    return new Promise<WaitOutcome>((resolve) => {
      const key = id.slice(0, MIN_PREFIX);
      let bucket = this.byPrefix.get(key);
      if (bucket === undefined) { bucket = new Set(); this.byPrefix.set(key, bucket); }
      const b = bucket;
      const w: Waiter = {
        id,
        timer: undefined,
        done: (o) => {
          if (!b.delete(w)) return;
          if (b.size === 0 && this.byPrefix.get(key) === b) this.byPrefix.delete(key);
          if (w.timer !== undefined) clearTimeout(w.timer);
          this.count -= 1;
          if (o === 'timeout') this.timedOut += 1;
          if (o === 'appeared') this.woken += 1;
          resolve(o);
        },
      };
      b.add(w);
      this.count += 1;
      w.timer = setTimeout(() => w.done('timeout'), ms);
    });
  }

  /** Wakes every waiter whose id is `fullId` or a prefix of it. */
  notify(fullId: string): void {
    const bucket = this.byPrefix.get(fullId.slice(0, MIN_PREFIX));
    if (bucket === undefined) return;
    for (const w of [...bucket]) if (fullId.startsWith(w.id)) w.done('appeared');
  }

  closeAll(): void {
    for (const bucket of [...this.byPrefix.values()]) for (const w of [...bucket]) w.done('closed');
  }

  stats(): WaiterStats {
    return { pending: this.count, exceeded: this.exceeded, timedOut: this.timedOut, woken: this.woken };
  }
}
