// The relay spool: an append-only write-ahead log of ingested batches (format.ts).
//
// Guarantees:
//   - append() resolves { ok: true } once the record is written into the segment
//     file (the kernel's page cache holds it): a relay crash, restart or SIGKILL can
//     no longer lose it, so its events may be handed off. Its `durable` settles once
//     an fdatasync covering it returned (with `fsync`; without, at once): a power loss
//     can no longer lose it, so the batch may be acked. Only a host crash between the
//     two can lose a record whose events clients saw; its batch was not acked, so the
//     sender resends it (delivered again, never lost).
//   - Group commit, writes: the appends of one event-loop turn are written together
//     (issued in the check phase) by one buffered pwritev in libuv's thread pool, at
//     file positions in LSN order, and resolve in LSN order. One group write is in
//     flight at a time: appends that arrive meanwhile form the next group, issued when
//     it completes. The loop thread never makes the write itself: a busy disk (an ext4
//     journal commit, dirty-page throttling) can hold a write for milliseconds, and it
//     then holds only the appends, not the relay. Until 2026-12-01 the write was made
//     on the loop thread (relay/spool/README.md).
//   - Group commit, syncs: one loop syncs (fs/promises: libuv's thread pool, the event
//     loop never waits for the disk); each fdatasync covers every group written before
//     it started, whose `durable` then settle in LSN order. Until 2026-11-30 segments
//     were O_DSYNC and the hand-off waited for the disk (relay/spool/README.md).
//   - Bounded: all segments together stay within `maxBytes`. An append that does not
//     fit after reclaiming what may be deleted is refused ({ ok: false, reason:
//     'full' }, counted in palisade_relay_spool_refused_batches_total{reason="full"});
//     the caller answers with a retryable error and the enforcer keeps the batch.
//   - Retention: a closed segment is deleted when (the spool needs its bytes for an
//     append, or its last write is older than `maxAgeSec`) AND every record in it has
//     reached the hub (published()) AND the hub no longer retains any of their events
//     (the segment's highest hub cursor < hubOldest()). So a restart can always
//     replay what the hub held and rebuild dedup for it.
//   - One process per directory: a LOCK file holds the owner's pid; a live owner
//     makes open fail, a dead one's lock is taken over.
//   - A write error fails the appends of that group ({ reason: 'io' }, counted); a
//     sync error fails the `durable` of the groups it covered. Either way the next
//     group starts a new segment; a partial record is a torn tail that recovery
//     truncates.
import { constants as fsConstants } from 'node:fs';
import { open, readdir, readFile, rename, stat, truncate, unlink, writeFile, mkdir, type FileHandle } from 'node:fs/promises';
import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Counters } from '../metrics/counters.js';
import type { SpoolConfig } from './config.js';
import {
  encodeBatchHead, encodeMark, parseSegmentName, sealRecord, segmentHeader, segmentName, SEGMENT_HEADER_BYTES,
  type BatchRecord, type MarkRecord,
} from './format.js';
import { scanSegment } from './segment-reader.js';

export type BatchInput = Omit<BatchRecord, 'type' | 'lsn'>;
export type DurableResult = { ok: true } | { ok: false; reason: 'io'; message: string };
/**
 * ok: the record is written (in the page cache: it survives a relay crash; its events
 * may be handed off); `durable` settles once it is synced (it survives a power loss;
 * the batch may be acked). Without spool.fsync `durable` is settled at once.
 */
export type AppendResult = { ok: true; lsn: bigint; durable: Promise<DurableResult> } | { ok: false; reason: 'full' | 'closed' | 'io'; message: string };
const DURABLE: DurableResult = { ok: true };

export interface Spool {
  append(b: BatchInput): Promise<AppendResult>;
  /** The record's events are in the hub (or its hand-off failed and it will not be): `hubHead` is the hub's head after it. */
  published(lsn: bigint, hubHead: number): void;
  /** Deletes segments past maxAgeSec that retention allows (call now and then). */
  expire(): Promise<void>;
  readonly bytes: number;
  readonly segments: number;
  close(): Promise<void>;
}

export type Recovery = {
  /** Intact batch records, in LSN order; the oldest may have an empty `raw` (SpoolDeps.keepRawBytes). */
  readonly records: readonly BatchRecord[];
  readonly marks: readonly MarkRecord[];
  readonly corrupt: number;
  /** Torn tails and unwritten (all-zero) gaps: what a crash leaves. */
  readonly torn: number;
};

export type SpoolDeps = {
  readonly counters: Counters;
  readonly log: Logger;
  /** Oldest hub cursor still retained (segments whose events are all below it may go); default: no hub. */
  readonly hubOldest?: () => number;
  /** Hub epoch to write in marks (cursor resume across restarts); absent: no marks. */
  readonly hubEpoch?: string;
  /** Replaces FileHandle.datasync() (tests inject a slow or failing one). */
  readonly sync?: (fh: FileHandle) => Promise<void>;
  /** Replaces FileHandle.writev() of a group; resolves with the bytes written (tests inject a slow or failing one). */
  readonly write?: (fh: FileHandle, bufs: Buffer[], position: number) => Promise<number>;
  readonly now?: () => number;
  /**
   * Recovery keeps the bytes of only the newest records up to this many (copied out of
   * their segment buffers); older records come back with an empty `raw` (dedup only),
   * so start-up memory is bounded by this, not by spool.maxBytes. Default: all.
   */
  readonly keepRawBytes?: number;
};

type Segment = {
  readonly name: string; readonly firstLsn: bigint; size: number; pending: number; maxHub: number; lastWriteMs: number;
  /** Settles to the open handle once the header is durable (appended-to segments only; recovered ones have none). */
  ready?: Promise<FileHandle>;
  /** The handle, once `ready` settled. */
  fh?: FileHandle;
  /** End of the bytes given to the groups issued so far: the next group's file position. */
  end: number;
  /** Groups written to it and not yet synced. */
  unsynced: number;
  /** A write or sync to it failed: the next group starts a new segment. */
  broken: boolean;
};
type Written = { readonly seg: Segment; readonly records: number; readonly bytes: number; readonly settle: (r: DurableResult) => void };
type Pending = { readonly lsn: bigint; readonly bufs: Buffer[]; readonly bytes: number; readonly resolve: (r: AppendResult) => void };

/**
 * Every sync of the spool (one fdatasync, covering the groups written before it), on
 * the diagnostics channel SPOOL_SYNC_CHANNEL, only when somebody subscribes:
 * bench/relay reports the disk's share of the ack latency.
 */
export type SpoolSyncMessage = { readonly seconds: number; readonly records: number; readonly bytes: number; readonly ok: boolean };
export const SPOOL_SYNC_CHANNEL = 'palisade:relay:spool-sync';
const syncChannel = channel(SPOOL_SYNC_CHANNEL);
/**
 * Every group write (one buffered pwritev in the thread pool), on SPOOL_WRITE_CHANNEL,
 * only when somebody subscribes: bench/relay reports how long the writes took (issue to
 * completion; the appends of the group waited that long, the loop did not).
 */
export type SpoolWriteMessage = { readonly seconds: number; readonly records: number; readonly bytes: number };
export const SPOOL_WRITE_CHANNEL = 'palisade:relay:spool-write';
const writeChannel = channel(SPOOL_WRITE_CHANNEL);

const LOCK = 'LOCK';
const EMPTY = Buffer.alloc(0);

async function lockDir(dir: string): Promise<string | undefined> {
  const file = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${file}: ${(err as Error).message}`;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    let alive = false;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) return `spool.dir ${dir} is in use by process ${pid} (one relay per spool directory; set --spool-dir or --spool-enabled false)`;
    await unlink(file).catch(() => undefined); // stale lock of a dead relay
  }
  return `cannot take the lock ${file}`;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Opens (creating) the directory, takes its lock and reads every segment. */
export async function openSpool(cfg: SpoolConfig, deps: SpoolDeps): Promise<{ ok: true; spool: Spool; recovery: Recovery } | { ok: false; error: string }> {
  const { counters, log } = deps;
  const now = deps.now ?? Date.now;
  const dir = cfg.dir;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    return { ok: false, error: `spool.dir ${dir}: cannot create: ${(err as Error).message}` };
  }
  const lockErr = await lockDir(dir);
  if (lockErr) return { ok: false, error: lockErr };

  const segs: Segment[] = [];
  const records: BatchRecord[] = [];
  const marks: MarkRecord[] = [];
  let corrupt = 0;
  let torn = 0;
  let lastLsn = 0n;
  const keepRaw = deps.keepRawBytes ?? Infinity;
  let rawBytes = 0; // of the records whose raw is kept
  let dropped = 0; // records[0..dropped) have an empty raw
  try {
    const names = (await readdir(dir)).filter((n) => parseSegmentName(n) !== undefined).sort();
    for (const name of names) {
      const file = join(dir, name);
      const scan = await scanSegment(file, lastLsn);
      let size = scan.bytes;
      for (const p of scan.problems) {
        const what = p.kind === 'torn_tail' ? 'spool: torn tail truncated' : p.kind === 'unwritten' ? 'spool: unwritten gap skipped' : 'spool: corrupt record skipped';
        log.warn({ file: p.file, offset: p.offset, bytes: p.bytes, kind: p.kind, detail: p.detail }, what);
        counters.inc('palisade_relay_spool_corrupt_records_total', { kind: p.kind });
        if (p.kind === 'torn_tail' || p.kind === 'unwritten') torn++; // what a crash leaves
        else corrupt++;
      }
      if (scan.problems.some((p) => p.kind === 'bad_header')) {
        await rename(file, `${file}.corrupt`); // kept for inspection, out of the log
        continue;
      }
      if (scan.truncateAt !== undefined) {
        await truncate(file, scan.truncateAt);
        size = scan.truncateAt;
      }
      let n = 0;
      for (const r of scan.records) {
        if (r.type === 1) {
          records.push(r);
          rawBytes += r.raw.length;
          lastLsn = r.lsn;
          n++;
        } else marks.push(r);
      }
      // drop the raw bytes of the oldest records past the budget; copy the rest out of
      // this segment's buffer so that the buffer itself can be freed
      while (rawBytes > keepRaw && dropped < records.length) {
        const r = records[dropped] as BatchRecord;
        rawBytes -= r.raw.length;
        records[dropped] = { ...r, raw: EMPTY };
        dropped++;
      }
      for (let i = Math.max(dropped, records.length - n); i < records.length; i++) {
        const r = records[i] as BatchRecord;
        records[i] = { ...r, raw: Buffer.from(r.raw) };
      }
      const st = await stat(file);
      const firstLsn = parseSegmentName(name) as bigint;
      // a segment created just before a crash may hold no record: its name's LSN is taken
      if (n === 0 && firstLsn > lastLsn) lastLsn = firstLsn;
      segs.push({ name, firstLsn, size, pending: n, maxHub: 0, lastWriteMs: st.mtimeMs, end: size, unsynced: 0, broken: false });
    }
    if (cfg.fsync && torn > 0) await syncDir(dir);
  } catch (err) {
    await unlink(join(dir, LOCK)).catch(() => undefined);
    return { ok: false, error: `spool.dir ${dir}: cannot recover: ${(err as Error).message}` };
  }
  counters.inc('palisade_relay_spool_recovered_records_total', {}, records.length);
  const spool = createSpool(cfg, deps, segs, lastLsn, now);
  log.info({ dir, segments: segs.length, records: records.length, corrupt, torn }, 'spool recovered');
  return { ok: true, spool, recovery: { records, marks, corrupt, torn } };
}

function createSpool(cfg: SpoolConfig, deps: SpoolDeps, segs: Segment[], lastLsn: bigint, now: () => number): Spool {
  const { counters, log } = deps;
  const dir = cfg.dir;
  const sync = deps.sync ?? ((fh: FileHandle): Promise<void> => fh.datasync());
  const writev = deps.write ?? (async (fh: FileHandle, bufs: Buffer[], position: number): Promise<number> => (await fh.writev(bufs, position)).bytesWritten);
  const hubOldest = deps.hubOldest ?? ((): number => Infinity);
  let nextLsn = lastLsn + 1n;
  let bytes = segs.reduce((s, g) => s + g.size, 0);
  let reserved = 0; // bytes of queued appends not written yet
  let cur: Segment | undefined; // the segment being appended to (always a new one after open)
  let queue: Pending[] = [];
  let flushQueued = false;
  /** Groups written (visible) and waiting for their sync, in LSN order. */
  let unsynced: Written[] = [];
  let syncing: Promise<void> | undefined;
  /** Settles once the group write in flight is written (or failed). */
  let writtenChain: Promise<void> = Promise.resolve();
  /** A group write is in flight: new appends wait in `queue` for the next group. */
  let writing = false;
  let closed = false;
  const inflight = new Set<bigint>(); // appended, not yet published (for marks)
  let hubHead = 0;
  let markedLsn = -1n;
  let reclaiming: Promise<void> | undefined;

  const gauges = (): void => {
    counters.set('palisade_relay_spool_bytes', {}, bytes);
    counters.set('palisade_relay_spool_segments', {}, segs.length);
  };
  gauges();

  const segmentOf = (lsn: bigint): Segment | undefined => {
    for (let i = segs.length - 1; i >= 0; i--) {
      const s = segs[i] as Segment;
      if (s.firstLsn <= lsn) return s;
    }
    return undefined;
  };

  const deletable = (s: Segment, oldest: number): boolean => s !== cur && s.unsynced === 0 && s.pending === 0 && s.maxHub < oldest;

  async function remove(s: Segment, reason: string): Promise<void> {
    await unlink(join(dir, s.name));
    const i = segs.indexOf(s);
    if (i >= 0) segs.splice(i, 1);
    bytes -= s.size;
    counters.inc('palisade_relay_spool_deleted_segments_total', { reason });
    gauges();
  }

  /** Deletes the oldest deletable segments until `need` more bytes fit (or nothing more may go). */
  async function reclaim(need: number): Promise<void> {
    const oldest = hubOldest();
    while (bytes + reserved + need > cfg.maxBytes) {
      const s = segs[0];
      if (!s || !deletable(s, oldest)) return; // oldest first: a younger segment never goes before an older one
      await remove(s, 'bytes');
    }
  }

  /** Closes a segment's handle once it is no longer appended to and its writes are synced. */
  function retire(s: Segment): void {
    if (s === cur || s.unsynced > 0 || s.ready === undefined) return;
    const ready = s.ready;
    s.ready = undefined;
    s.fh = undefined;
    void ready.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Starts a new current segment; its file is created (header durable) before its first write. */
  function roll(firstLsn: bigint): Segment {
    const name = segmentName(firstLsn);
    const s: Segment = { name, firstLsn, size: 0, pending: 0, maxHub: 0, lastWriteMs: now(), end: SEGMENT_HEADER_BYTES, unsynced: 0, broken: false };
    s.ready = (async (): Promise<FileHandle> => {
      const { O_WRONLY, O_CREAT, O_EXCL } = fsConstants;
      const fh = await open(join(dir, name), O_WRONLY | O_CREAT | O_EXCL);
      try {
        const header = segmentHeader();
        await fh.write(header, 0, header.length, 0);
        if (cfg.fsync) {
          await sync(fh);
          await syncDir(dir);
        }
        s.size += header.length;
        bytes += header.length;
        gauges();
        s.fh = fh;
        return fh;
      } catch (err) {
        await fh.close().catch(() => undefined);
        throw err;
      }
    })();
    s.ready.catch(() => undefined); // its groups see the error
    segs.push(s);
    const old = cur;
    cur = s;
    if (old) retire(old);
    return s;
  }

  /** writev (thread pool) until every byte is written. */
  async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
    let pos = position;
    let rest = bufs;
    for (let i = 0; i < 1000 && rest.length > 0; i++) {
      const n0 = await writev(fh, rest, pos);
      pos += n0;
      let n = n0;
      const left: Buffer[] = [];
      for (const b of rest) {
        if (n >= b.length) { n -= b.length; continue; }
        left.push(n > 0 ? b.subarray(n) : b);
        n = 0;
      }
      rest = left;
    }
    if (rest.length > 0) throw new Error('short writes did not finish');
  }

  function markBuf(): Buffer | undefined {
    if (deps.hubEpoch === undefined) return undefined;
    let low = nextLsn;
    for (const l of inflight) if (l < low) low = l;
    const upTo = low - 1n; // every record <= upTo has reached the hub
    if (upTo <= markedLsn) return undefined;
    markedLsn = upTo;
    return encodeMark({ lsn: upTo, hubHead, epoch: deps.hubEpoch });
  }

  function failGroup(seg: Segment, group: readonly Pending[], groupBytes: number, err: unknown): void {
    reserved -= groupBytes;
    counters.inc('palisade_relay_spool_write_errors_total');
    log.error({ err, segment: seg.name }, 'spool write failed; batches not acked');
    breakSegment(seg);
    for (const p of group) inflight.delete(p.lsn);
    const message = `spool write failed: ${(err as Error).message}`;
    for (const p of group) p.resolve({ ok: false, reason: 'io', message });
  }

  /** A write or sync to `seg` failed: what the page cache holds of it is not trusted; the next group starts a new segment. */
  function breakSegment(seg: Segment): void {
    seg.broken = true;
    markedLsn = -1n;
    if (seg.size === 0) { // never created: nothing to keep or delete
      const i = segs.indexOf(seg);
      if (i >= 0) segs.splice(i, 1);
    }
    if (cur === seg) cur = undefined;
    retire(seg);
  }

  /**
   * Writes one group into the page cache (a buffered pwritev in the thread pool: usually
   * tens of microseconds; a busy disk can hold it for milliseconds, see spool/README.md)
   * and resolves its appends: their records now survive a relay crash, so their events
   * may be handed off. Their `durable` promises settle when the sync loop has synced the
   * group.
   */
  async function writeGroup(seg: Segment, position: number, group: Pending[], bufs: Buffer[], total: number, groupBytes: number): Promise<void> {
    const fh = seg.fh;
    if (seg.broken || fh === undefined) return failGroup(seg, group, groupBytes, new Error(`segment ${seg.name} is not writable`));
    const t0 = writeChannel.hasSubscribers ? process.hrtime.bigint() : 0n;
    try {
      await writeAll(fh, bufs, position);
    } catch (err) {
      return failGroup(seg, group, groupBytes, err);
    }
    if (seg.broken) return failGroup(seg, group, groupBytes, new Error(`segment ${seg.name} failed while this group was written`));
    if (t0 !== 0n) writeChannel.publish({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, records: group.length, bytes: total } satisfies SpoolWriteMessage);
    seg.size += total;
    seg.pending += group.length;
    seg.lastWriteMs = now();
    bytes += total;
    reserved -= groupBytes;
    counters.inc('palisade_relay_spool_records_total', {}, group.length);
    counters.inc('palisade_relay_spool_written_bytes_total', {}, total);
    gauges();
    let settle: (r: DurableResult) => void = () => undefined;
    const durable = cfg.fsync ? new Promise<DurableResult>((resolve) => { settle = resolve; }) : Promise.resolve(DURABLE);
    if (cfg.fsync) {
      seg.unsynced++;
      unsynced.push({ seg, records: group.length, bytes: total, settle });
      syncing ??= syncLoop();
    }
    for (const p of group) p.resolve({ ok: true, lsn: p.lsn, durable });
  }

  /**
   * Group commit of durability: one fdatasync covers every group written before it
   * started (per segment; a roll makes two), then their acks may go out, in LSN order.
   * Groups written while a sync runs wait for the next one.
   */
  async function syncLoop(): Promise<void> {
    while (unsynced.length > 0) { // ends: each round takes every group written so far
      const batch = unsynced;
      unsynced = [];
      const bySeg = new Map<Segment, Written[]>();
      for (const w of batch) {
        const l = bySeg.get(w.seg);
        if (l) l.push(w);
        else bySeg.set(w.seg, [w]);
      }
      for (const [seg, ws] of bySeg) {
        const t0 = process.hrtime.bigint();
        let failure: Error | undefined;
        try {
          if (seg.broken || seg.fh === undefined) throw new Error(`segment ${seg.name} failed earlier`);
          await sync(seg.fh);
        } catch (err) {
          failure = err as Error;
        }
        const sec = Number(process.hrtime.bigint() - t0) / 1e9;
        counters.inc('palisade_relay_spool_fsync_seconds_total', {}, sec);
        counters.inc('palisade_relay_spool_fsyncs_total');
        if (sec > counters.get('palisade_relay_spool_fsync_max_seconds')) counters.set('palisade_relay_spool_fsync_max_seconds', {}, sec);
        if (syncChannel.hasSubscribers) syncChannel.publish({ seconds: sec, records: ws.reduce((n, w) => n + w.records, 0), bytes: ws.reduce((n, w) => n + w.bytes, 0), ok: failure === undefined } satisfies SpoolSyncMessage);
        if (failure) {
          counters.inc('palisade_relay_spool_write_errors_total');
          log.error({ err: failure, segment: seg.name }, 'spool sync failed; its batches are not acked (the senders resend them)');
          breakSegment(seg);
        }
        const r: DurableResult = failure ? { ok: false, reason: 'io', message: `spool sync failed: ${failure.message}` } : DURABLE;
        for (const w of ws) {
          seg.unsynced--;
          w.settle(r);
        }
        retire(seg);
      }
    }
    syncing = undefined;
  }

  /**
   * Issues the queued appends as one group (LSN order is file order: positions are taken
   * now) and writes it; when that write completes, the appends queued meanwhile are issued.
   */
  function issue(): void {
    const group = queue;
    queue = [];
    const mark = markBuf();
    const bufs = mark ? [mark] : [];
    let total = mark?.length ?? 0;
    for (const p of group) {
      bufs.push(...p.bufs);
      total += p.bytes;
    }
    const groupBytes = total - (mark?.length ?? 0);
    let seg = cur;
    if (!seg || seg.broken || (seg.end > SEGMENT_HEADER_BYTES && seg.end + total > cfg.segmentBytes)) seg = roll((group[0] as Pending).lsn);
    const position = seg.end;
    seg.end += total;
    const s = seg;
    writing = true;
    writtenChain = (async (): Promise<void> => {
      try {
        await s.ready; // a new segment's file is created (header durable) before its first write
      } catch (err) {
        return failGroup(s, group, groupBytes, err);
      }
      await writeGroup(s, position, group, bufs, total, groupBytes);
    })().catch((err: unknown) => failGroup(s, group, groupBytes, err)) // not expected: writeGroup fails its group itself
      .finally(() => {
        writing = false;
        if (queue.length > 0) issue(); // what arrived during the write: the next group
      });
  }

  function flush(): void {
    flushQueued = false;
    if (queue.length > 0 && !writing) issue();
  }

  return {
    async append(b) {
      if (closed) return { ok: false, reason: 'closed', message: 'spool closed' };
      const head = encodeBatchHead({ ...b, lsn: 0n });
      const need = head.length + b.raw.length;
      if (bytes + reserved + need > cfg.maxBytes) {
        while (reclaiming) await reclaiming;
        reclaiming = reclaim(need).catch((err: unknown) => log.error({ err }, 'spool: cannot delete a segment'));
        await reclaiming;
        reclaiming = undefined;
        if (bytes + reserved + need > cfg.maxBytes) {
          counters.inc('palisade_relay_spool_refused_batches_total', { reason: 'full' });
          return { ok: false, reason: 'full', message: `relay spool full (spool.maxBytes ${cfg.maxBytes}; the oldest segments still hold events the hub retains or that are not published yet)` };
        }
      }
      if (closed) return { ok: false, reason: 'closed', message: 'spool closed' };
      const lsn = nextLsn++;
      head.writeBigUInt64LE(lsn, 9); // after length, CRC and type
      sealRecord(head, b.raw);
      reserved += need;
      inflight.add(lsn);
      return new Promise<AppendResult>((resolve) => {
        queue.push({ lsn, bufs: [head, b.raw], bytes: need, resolve });
        if (!flushQueued) { // this turn's appends are written together, in the check phase
          flushQueued = true;
          setImmediate(flush);
        }
      });
    },
    published(lsn, head) {
      if (head > hubHead) hubHead = head;
      inflight.delete(lsn);
      const s = segmentOf(lsn);
      if (!s) return;
      s.pending = Math.max(0, s.pending - 1);
      if (head > s.maxHub) s.maxHub = head;
    },
    async expire() {
      if (cfg.maxAgeSec <= 0) return;
      const oldest = hubOldest();
      const cutoff = now() - cfg.maxAgeSec * 1000;
      for (let s = segs[0]; s && s.lastWriteMs < cutoff && deletable(s, oldest); s = segs[0]) {
        await remove(s, 'age');
      }
    },
    get bytes() {
      return bytes;
    },
    get segments() {
      return segs.length;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (let i = 0; i < 1_000_000 && (queue.length > 0 || flushQueued || writing); i++) {
        await writtenChain;
        await new Promise((r) => setImmediate(r));
      }
      for (let i = 0; i < 1_000_000 && syncing; i++) await syncing;
      const ready = cur?.ready;
      if (cur) { cur.ready = undefined; cur.fh = undefined; }
      cur = undefined;
      await ready?.then((fh) => fh.close()).catch(() => undefined);
      await unlink(join(dir, LOCK)).catch(() => undefined);
    },
  };
}
