// Duplicate detection and ack state per (nodeId, bootId).
//
// State per sequence space: `acked`, the highest seq S such that every seq <= S was
// committed (handed to the hub, or declared lost by the sender as a gap inside a
// batch range), plus a short sorted list of committed ranges above S that are not
// contiguous with it yet. A seq is a duplicate iff it is <= acked or inside one of
// those ranges.
//
// Bounds: a batch may reach at most `window` seqs past `acked` and at most
// `maxRanges` disjoint ranges are kept (else accept() refuses it, retryable);
// at most `maxSpaces` sequence spaces are remembered, least recently used evicted
// (counted by the caller through onEvict). Acks never go backwards.
export type DedupOptions = { readonly window: number; readonly maxRanges?: number; readonly maxSpaces?: number; readonly onEvict?: () => void };

type Space = { acked: bigint; ranges: Array<[bigint, bigint]> };

export type Admission = { ok: true } | { ok: false; reason: 'too_far_ahead' | 'too_fragmented' };

export interface DedupWindow {
  /** Highest contiguous committed seq; 0n for an unknown space. */
  acked(nodeId: string, bootId: string): bigint;
  /** Whether a batch covering [first, last] can be tracked. */
  admit(nodeId: string, bootId: string, first: bigint, last: bigint): Admission;
  isDuplicate(nodeId: string, bootId: string, seq: bigint): boolean;
  /** Records [first, last] as committed; returns the new acked seq. */
  commit(nodeId: string, bootId: string, first: bigint, last: bigint): bigint;
  readonly size: number;
}

export function createDedupWindow(opts: DedupOptions): DedupWindow {
  const window = BigInt(opts.window);
  const maxRanges = opts.maxRanges ?? 64;
  const maxSpaces = opts.maxSpaces ?? 100_000;
  const spaces = new Map<string, Space>();
  const key = (n: string, b: string): string => `${n}\u0000${b}`;

  function touch(k: string, create: boolean): Space | undefined {
    let s = spaces.get(k);
    if (s) {
      spaces.delete(k); // re-insert: Map order is the LRU order
      spaces.set(k, s);
      return s;
    }
    if (!create) return undefined;
    s = { acked: 0n, ranges: [] };
    spaces.set(k, s);
    while (spaces.size > maxSpaces) {
      const oldest = spaces.keys().next().value;
      if (oldest === undefined) break;
      spaces.delete(oldest);
      opts.onEvict?.();
    }
    return s;
  }

  return {
    acked: (n, b) => spaces.get(key(n, b))?.acked ?? 0n,
    admit(n, b, first, last) {
      const s = spaces.get(key(n, b));
      const acked = s?.acked ?? 0n;
      if (last <= acked) return { ok: true };
      if (last - acked > window) return { ok: false, reason: 'too_far_ahead' };
      if (s && s.ranges.length >= maxRanges && first > acked + 1n) return { ok: false, reason: 'too_fragmented' };
      return { ok: true };
    },
    isDuplicate(n, b, seq) {
      const s = spaces.get(key(n, b));
      if (!s) return false;
      if (seq <= s.acked) return true;
      for (const [lo, hi] of s.ranges) {
        if (seq < lo) return false;
        if (seq <= hi) return true;
      }
      return false;
    },
    commit(n, b, first, last) {
      const s = touch(key(n, b), true) as Space;
      if (last <= s.acked) return s.acked;
      const lo = first > s.acked ? first : s.acked + 1n;
      // insert [lo, last] and merge overlapping or adjacent ranges
      const merged: Array<[bigint, bigint]> = [];
      let cur: [bigint, bigint] = [lo, last];
      let placed = false;
      for (const r of s.ranges) {
        if (r[1] + 1n < cur[0]) merged.push(r);
        else if (cur[1] + 1n < r[0]) {
          if (!placed) { merged.push(cur); placed = true; }
          merged.push(r);
        } else cur = [r[0] < cur[0] ? r[0] : cur[0], r[1] > cur[1] ? r[1] : cur[1]];
      }
      if (!placed) merged.push(cur);
      merged.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      while (merged.length > 0 && (merged[0] as [bigint, bigint])[0] <= s.acked + 1n) {
        const r = merged.shift() as [bigint, bigint];
        if (r[1] > s.acked) s.acked = r[1];
      }
      s.ranges = merged;
      return s.acked;
    },
    get size() {
      return spaces.size;
    },
  };
}
