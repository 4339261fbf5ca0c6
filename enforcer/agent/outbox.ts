// The agent's outbox: every alert, log and notice gets the next sequence number of this
// node's sequence space (nodeId, bootId) and waits in memory until the relay acks it.
//
// Queue: capacity `capacity` entries; overflow policy drop_oldest (the oldest entry,
// sent or not, is removed and counted in dropped.overflow); drops are reported to the
// relay as a feeder Message by reportDrops() and show up there as gaps in seq, which the
// relay counts as sender-declared loss. Shutdown: whatever is still unacked when the
// client's flush deadline passes is lost and returned by stats().pending (the caller
// reports it); there is no disk spool yet.
//
// Sequence numbers: seq starts at 1 for a fresh space, or after the last reservation of
// this boot when a SeqStore is given (seq-store.ts: the agent restarted). The first hello
// answer may say the relay already holds seqs at or past our start (a restart without a
// store): then every queued seq is shifted past the relay's ack before anything is sent,
// so a seq is never reused for another event. Seqs between the relay's ack and our start
// (a previous run that stopped before its events were acked, or reserved and unused after
// a crash) are sent as a gap: the relay counts them as loss.
//
// Sending window: a batch covers [sentThrough + 1, last], every queued entry in that
// range, and never reaches further than relayAcked + maxSpan (the relay's dedup window).
// When the relay answers a hello with less than it acked before (it restarted and forgot),
// the range between its ack and ours is sent as gap-only batches, so the relay's ack can
// move forward; it counts that range as sender-declared loss although the previous
// relay instance delivered it.
import { Message } from '../../proto/gen/feeder/kubearmor.js';
import type { Batch, Entry } from '../../proto/gen/palisade/v1/ingest.js';
import { updatedTime } from './feeder-log.js';
import type { SeqStore } from './seq-store.js';

export type EntryBody = NonNullable<Entry['event']>;

export type OutboxConfig = {
  readonly nodeId: string;
  readonly bootId: string;
  /** entries kept in memory (default 100000) */
  readonly capacity: number;
  /** entries per batch (default 512) */
  readonly maxBatchEntries: number;
  /** furthest a batch may reach past the relay's ack (default 32768; below the relay's dedupWindow) */
  readonly maxSpan: number;
};

export function defaultOutboxConfig(nodeId: string, bootId: string): OutboxConfig {
  return { nodeId, bootId, capacity: 100_000, maxBatchEntries: 512, maxSpan: 32_768 };
}

export type OutboxStats = {
  readonly pushed: number;
  readonly acked: number;
  readonly pending: number;
  readonly unsent: number;
  readonly dropped: { readonly overflow: number; readonly rejected: number };
  readonly lastSeq: bigint;
  readonly ackedSeq: bigint;
  readonly relayAckedSeq: bigint;
  readonly dropNotices: number;
  readonly bridged: bigint;
};

export interface Outbox {
  readonly config: OutboxConfig;
  push(body: EntryBody): bigint;
  /** The relay answered our hello with `acked` for our space. Resets the sending position. */
  onHello(acked: bigint): void;
  /** A cumulative ack: entries <= acked are freed. */
  ack(acked: bigint): void;
  /** The next batch to send, or undefined (nothing unsent, or the window is full). */
  nextBatch(maxEntries?: number): Batch | undefined;
  /** Resend everything unacked (after a retryable error). */
  rewind(): void;
  /** The relay refused [first, last] for good: drop those entries (counted) and resend the range as a gap. */
  reject(first: bigint, last: bigint): number;
  /** Queues a feeder Message about drops since the last notice, if any; returns whether it did. */
  reportDrops(nowMs: number, hostName: string): boolean;
  readonly pending: number;
  readonly hasUnsent: boolean;
  stats(): OutboxStats;
}

type Item = { seq: bigint; body: EntryBody };

export function createOutbox(config: OutboxConfig, options: { readonly seqs?: SeqStore } = {}): Outbox {
  const seqs = options.seqs;
  if (!Number.isInteger(config.capacity) || config.capacity < 1) throw new Error(`outbox.capacity: ${config.capacity} must be a positive integer`);
  if (!Number.isInteger(config.maxBatchEntries) || config.maxBatchEntries < 1) throw new Error(`outbox.maxBatchEntries: ${config.maxBatchEntries} must be a positive integer`);
  if (!Number.isInteger(config.maxSpan) || config.maxSpan < 1) throw new Error(`outbox.maxSpan: ${config.maxSpan} must be a positive integer`);
  const span = BigInt(config.maxSpan);
  let items: Item[] = [];
  let head = 0;
  const base = seqs?.start ?? 1n;
  let nextSeq = base;
  let sentThrough = 0n;
  let relayAcked = 0n;
  let ackFloor = 0n;
  let everHello = false;
  let pushed = 0, acked = 0, overflow = 0, rejected = 0, dropNotices = 0;
  let dropsSinceNotice = 0;
  let bridged = 0n;

  const size = (): number => items.length - head;
  const compact = (): void => {
    if (head > 1024 && head * 2 > items.length) { items = items.slice(head); head = 0; }
  };
  const freeThrough = (s: bigint): void => {
    while (head < items.length && (items[head] as Item).seq <= s) { head++; acked++; }
    compact();
  };
  /** index of the first item with seq >= s */
  const lowerBound = (s: bigint): number => {
    let lo = head, hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] as Item).seq < s) lo = mid + 1; else hi = mid;
    }
    return lo;
  };

  const push = (body: EntryBody): bigint => {
    if (size() >= config.capacity) {
      head++;
      overflow++;
      dropsSinceNotice++;
      compact();
    }
    const seq = nextSeq++;
    if (seqs !== undefined && seq > seqs.reserved) seqs.reserve(seq);
    items.push({ seq, body });
    pushed++;
    return seq;
  };

  return {
    config,
    push,
    onHello(a) {
      if (!everHello) {
        everHello = true;
        if (a >= base) {
          // nothing was sent before the first hello: shift the whole space past the relay's ack
          const shift = a - base + 1n;
          for (let i = head; i < items.length; i++) (items[i] as Item).seq += shift;
          nextSeq += shift;
          ackFloor = a;
          if (seqs !== undefined && nextSeq - 1n > seqs.reserved) seqs.reserve(nextSeq - 1n);
        }
      }
      if (a < ackFloor) bridged += ackFloor - a;
      relayAcked = a;
      if (a > ackFloor) ackFloor = a;
      freeThrough(a);
      sentThrough = a;
    },
    ack(a) {
      if (a > relayAcked) relayAcked = a;
      if (a > ackFloor) ackFloor = a;
      freeThrough(a);
      if (sentThrough < relayAcked) sentThrough = relayAcked;
    },
    nextBatch(maxEntries = config.maxBatchEntries) {
      if (!everHello) return undefined; // seqs may still shift (onHello)
      const lastQueued = nextSeq - 1n;
      const first = sentThrough + 1n;
      if (first > lastQueued) return undefined;
      let last = lastQueued;
      if (last > relayAcked + span) last = relayAcked + span;
      if (last < first) return undefined;
      const entries: Entry[] = [];
      for (let i = lowerBound(first); i < items.length; i++) {
        const it = items[i] as Item;
        if (it.seq > last) break;
        entries.push({ seq: it.seq, event: it.body });
        if (entries.length >= maxEntries) { last = it.seq; break; }
      }
      sentThrough = last;
      return { nodeId: config.nodeId, bootId: config.bootId, firstSeq: first, lastSeq: last, entries };
    },
    rewind() {
      sentThrough = relayAcked;
    },
    reject(first, last) {
      const from = lowerBound(first);
      let to = from;
      while (to < items.length && (items[to] as Item).seq <= last) to++;
      const n = to - from;
      if (n > 0) {
        items.splice(from, n);
        rejected += n;
        dropsSinceNotice += n;
      }
      sentThrough = relayAcked;
      return n;
    },
    reportDrops(nowMs, hostName) {
      if (dropsSinceNotice === 0) return false;
      const n = dropsSinceNotice;
      dropsSinceNotice = 0;
      dropNotices++;
      const text = `palisade agent: outbox dropped ${n} events since the last notice `
        + `(${overflow} for overflow of capacity ${config.capacity}, oldest first; ${rejected} refused by the relay; totals since start); `
        + 'their sequence numbers are gaps';
      push({
        $case: 'message',
        value: Message.create({
          Timestamp: BigInt(Math.floor(nowMs / 1000)), UpdatedTime: updatedTime(nowMs), HostName: hostName,
          Type: 'Dropped', Level: 'Warn', Message: text,
        }),
      });
      return true;
    },
    get pending() { return size(); },
    get hasUnsent() { return sentThrough < nextSeq - 1n; },
    stats: () => ({
      pushed, acked, pending: size(), unsent: size() - (lowerBound(sentThrough + 1n) - head),
      dropped: { overflow, rejected }, lastSeq: nextSeq - 1n, ackedSeq: ackFloor, relayAckedSeq: relayAcked, dropNotices, bridged,
    }),
  };
}
