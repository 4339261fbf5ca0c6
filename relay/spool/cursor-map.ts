// palisade.v1 Watch cursors across relay restarts (spool on, no Redis).
//
// A hub cursor is "<epoch>:<n>", the epoch new in every relay process. While the
// relay writes the spool it adds a mark to each group write: (epoch, hub head h,
// LSN L) = "every record <= L had been handed to the hub when the head was h".
// A client whose last cursor is (e, n) with n >= h has therefore seen every event of
// the records <= L (except a collapsed repeat released later, see README), so what it
// may miss lies in the records > L. At start-up the relay replays the spool into the
// hub in LSN order and notes the hub head before each record; the old cursor maps to
// the head before the first record > L of the newest such mark: resume has no gap,
// and its duplicates (events between h and n) carry their ids.
// A cursor of an epoch the spool has no mark for, or whose records > L are no longer
// replayed (retention), is left as it is: the hub answers OUT_OF_RANGE.
import type { MarkRecord } from './format.js';

export type ReplayPoint = { readonly lsn: bigint; readonly headBefore: number };

export interface CursorMap {
  /** A cursor of the current hub for `cursor` (unchanged when it is current or unmappable). */
  translate(cursor: string): string;
}

export function createCursorMap(marks: readonly MarkRecord[], points: readonly ReplayPoint[], endHead: number, dedupOnlyAfter: bigint, current: string): CursorMap {
  const byEpoch = new Map<string, MarkRecord[]>();
  for (const m of marks) {
    const l = byEpoch.get(m.epoch) ?? [];
    l.push(m);
    byEpoch.set(m.epoch, l);
  }
  return {
    translate(cursor) {
      const m = /^([0-9a-f]+):(\d+)$/.exec(cursor);
      if (!m || m[1] === current) return cursor;
      const n = Number(m[2]);
      const list = byEpoch.get(m[1] as string);
      if (!list || !Number.isSafeInteger(n)) return cursor;
      let best: MarkRecord | undefined;
      for (const k of list) if (k.hubHead <= n && (!best || k.lsn > best.lsn)) best = k;
      if (!best) return cursor;
      const L = best.lsn;
      if (L < dedupOnlyAfter) return cursor; // records after L are no longer replayed
      const p = points.find((x) => x.lsn > L);
      return `${current}:${p ? p.headBefore : endHead}`;
    },
  };
}
