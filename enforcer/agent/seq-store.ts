// Persistent sequence reservations, so an agent restarted within one kernel boot never
// reuses a seq of its previous run (relays and sinks recognise duplicates by
// (nodeId, bootId, seq); a reused seq would be taken for a duplicate and dropped).
// File `<dir>/seq-<nodeId>.json` = {"bootId": "...", "reserved": "<seq>"}: every seq the
// agent may have used in that boot is <= reserved. Seqs are reserved in blocks (default
// 1,000,000) with a synchronous write-then-rename, once per block. A new boot id starts
// again at 1. A clean stop settles the reservation to the last seq used, so the next
// run continues without a gap; after a crash the unused rest of the block is a gap the
// relay counts as loss. Never throws: when the file cannot be written the store keeps counting in
// memory and reports `persistent: false` with the error (the caller logs it).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SeqStore {
  /** first seq this run may use */
  readonly start: bigint;
  /** highest seq covered by the current reservation */
  readonly reserved: bigint;
  /** reserve seqs through at least `seq`; returns the new reservation */
  reserve(seq: bigint): bigint;
  /** clean stop: nothing past `lastUsed` was used; the next run starts right after it */
  settle(lastUsed: bigint): void;
  readonly persistent: boolean;
  readonly error: string;
}

export function createSeqStore(options: { dir: string; nodeId: string; bootId: string; block?: bigint }): SeqStore {
  const block = options.block ?? 1_000_000n;
  const file = join(options.dir, `seq-${options.nodeId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  let start = 1n;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { bootId?: unknown; reserved?: unknown };
    if (doc.bootId === options.bootId && typeof doc.reserved === 'string' && /^\d+$/.test(doc.reserved)) start = BigInt(doc.reserved) + 1n;
  } catch {
    start = 1n; // no file yet, or unreadable: a fresh space for this boot
  }
  let reserved = start - 1n;
  let persistent = true;
  let error = '';
  const write = (upTo: bigint): void => {
    try {
      mkdirSync(options.dir, { recursive: true });
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, JSON.stringify({ bootId: options.bootId, reserved: upTo.toString() }) + '\n');
      renameSync(tmp, file);
    } catch (err) {
      persistent = false;
      error = `${file}: ${(err as Error).message}`;
    }
  };
  const store: SeqStore = {
    start,
    get reserved() { return reserved; },
    reserve(seq) {
      if (seq <= reserved) return reserved;
      reserved = seq + block - 1n;
      write(reserved);
      return reserved;
    },
    settle(lastUsed) {
      reserved = lastUsed >= start - 1n ? lastUsed : start - 1n;
      write(reserved);
    },
    get persistent() { return persistent; },
    get error() { return error; },
  };
  store.reserve(start);
  return store;
}
