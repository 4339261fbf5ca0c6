// relay/spool on real files in a temporary directory: recovery after reopen, group
// commit and ack ordering (an injected slow fdatasync), torn tails, corrupt records
// in the middle, the byte bound and retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { pino } from 'pino';
import { createCounters, type Counters } from '../../../relay/metrics/counters.js';
import { defaultSpoolConfig, type SpoolConfig } from '../../../relay/spool/config.js';
import { openSpool, SPOOL_SYNC_CHANNEL, SPOOL_WRITE_CHANNEL, type AppendResult, type BatchInput, type Spool, type SpoolDeps, type SpoolSyncMessage, type SpoolWriteMessage } from '../../../relay/spool/spool.js';
import { SEGMENT_HEADER_BYTES } from '../../../relay/spool/format.js';
import { scanSegment } from '../../../relay/spool/segment-reader.js';

const log = pino({ level: 'silent' });
const tmp = (): string => mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), 'spool-unit-'));

const batch = (seq: number, payloadBytes = 100, node = 'node-a'): BatchInput => ({
  nodeId: node, bootId: 'boot-1', firstSeq: BigInt(seq), lastSeq: BigInt(seq), receivedAtMs: 1_700_000_000_000 + seq,
  hostName: 'host-a', clusterName: 'c', raw: Buffer.alloc(payloadBytes, seq % 251),
});

async function open(dir: string, over: Partial<SpoolConfig> = {}, deps: Partial<SpoolDeps> = {}): Promise<{ spool: Spool; counters: Counters; recovery: Awaited<ReturnType<typeof openSpool>> & { ok: true } }> {
  const counters = createCounters();
  const r = await openSpool({ ...defaultSpoolConfig(), dir, ...over }, { counters, log, ...deps });
  if (!r.ok) throw new Error(r.error);
  return { spool: r.spool, counters, recovery: r };
}

/** An injected fdatasync whose calls wait for their gate (`gates.shift()?.()` lets the oldest return); the first `free` calls return at once. */
function heldSyncs(free = 0): { gates: Array<() => void>; sync: (fh: FileHandle) => Promise<void>; calls: () => number } {
  const gates: Array<() => void> = [];
  let n = 0;
  const sync = (fh: FileHandle): Promise<void> => {
    n++;
    if (n <= free) return fh.datasync();
    return new Promise<void>((resolve) => gates.push(() => fh.datasync().then(resolve, resolve)));
  };
  return { gates, sync, calls: () => n };
}

/** A spool in a fresh directory whose fdatasync calls are held (heldSyncs); releases them, closes and removes it after `body`. */
async function withHeldSpool(free: number, body: (h: { dir: string; spool: Spool } & ReturnType<typeof heldSyncs>) => Promise<void>): Promise<void> {
  const dir = tmp();
  const held = heldSyncs(free);
  const { spool } = await open(dir, {}, { sync: held.sync });
  try {
    await body({ dir, spool, ...held });
  } finally {
    while (held.gates.length > 0) held.gates.shift()?.();
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const segFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

test('appended batches are recovered in order with their fields and bytes; one process per directory', async () => {
  const dir = tmp();
  try {
    const a = await open(dir);
    const results = await Promise.all([1, 2, 3].map((i) => a.spool.append(batch(i, 10 + i))));
    assert.deepEqual(results.map((r) => r.ok && r.lsn), [1n, 2n, 3n]);
    const second = await openSpool({ ...defaultSpoolConfig(), dir }, { counters: createCounters(), log });
    assert.equal(second.ok, false);
    assert.match(second.ok ? '' : second.error, /in use by process \d+/);
    await a.spool.close();

    const b = await open(dir);
    const recs = b.recovery.recovery.records;
    assert.equal(recs.length, 3);
    assert.deepEqual(recs.map((r) => [r.lsn, r.firstSeq, r.raw.length, r.raw[0]]), [[1n, 1n, 11, 1], [2n, 2n, 12, 2], [3n, 3n, 13, 3]]);
    assert.equal(recs[0]?.hostName, 'host-a');
    assert.equal(recs[0]?.receivedAtMs, 1_700_000_000_001);
    assert.equal(b.counters.get('palisade_relay_spool_recovered_records_total'), 3);
    const r4 = await b.spool.append(batch(4));
    assert.equal(r4.ok && r4.lsn, 4n, 'LSNs continue after the recovered ones');
    await b.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an append resolves once its record is written, before the sync; durable only after its fdatasync; groups written during a sync share the next one', () => withHeldSpool(0, async ({ spool, gates, calls }) => {
    const order: string[] = [];
    const release = async (): Promise<void> => {
      for (let i = 0; i < 200 && gates.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      const g = gates.shift();
      assert.ok(g, 'a sync is waiting');
      order.push('sync-returned');
      g();
    };
    const durable = (name: string, r: AppendResult): Promise<void> => {
      assert.ok(r.ok, `${name} written`);
      return r.durable.then((d) => { assert.ok(d.ok); order.push(name); });
    };
    const a1 = spool.append(batch(1));
    await release(); // the new segment's header sync
    const r1 = await a1; // written: resolves while its sync is held
    for (let i = 0; i < 200 && calls() < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(calls(), 2, "a1's sync started");
    const d1 = durable('a1', r1);
    // a2..a4 are written while a1's sync is held, and wait for the next sync
    const rest = await Promise.all([2, 3, 4].map((i) => spool.append(batch(i))));
    const dRest = rest.map((r, i) => durable(`a${i + 2}`, r));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, ['sync-returned'], 'nothing durable while the record sync is pending');
    await release();
    await d1;
    assert.deepEqual(order, ['sync-returned', 'sync-returned', 'a1']);
    await release();
    await Promise.all(dRest);
    assert.deepEqual(order, ['sync-returned', 'sync-returned', 'a1', 'sync-returned', 'a2', 'a3', 'a4']);
    assert.equal(calls(), 3, 'a2..a4: one fdatasync');
}));

test('a written record is in the segment file before its sync returns (it survives a relay crash)', () => withHeldSpool(1 /* the segment header's sync returns at once */, async ({ dir, spool, gates }) => {
    const r = await spool.append(batch(7, 300));
    assert.ok(r.ok);
    let settled = false;
    void r.durable.then(() => { settled = true; });
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(settled, false, 'not durable yet');
    const scan = await scanSegment(join(dir, segFiles(dir)[0] as string), 0n);
    assert.deepEqual(scan.records.map((x) => x.type === 1 && [x.firstSeq, x.raw.length]), [[7n, 300]], 'another process reads the record now');
    gates.shift()?.();
    assert.deepEqual(await r.durable, { ok: true });
}));

test('a failed sync fails the acks of its groups only, is counted, and the next group starts a new segment', async () => {
  const dir = tmp();
  let calls = 0;
  const sync = async (fh: FileHandle): Promise<void> => {
    calls++;
    if (calls === 3) throw new Error('injected EIO');
    await fh.datasync();
  };
  const { spool, counters } = await open(dir, {}, { sync });
  try {
    const r1 = await spool.append(batch(1)); // syncs 1 (header) and 2
    assert.ok(r1.ok);
    assert.deepEqual(await r1.durable, { ok: true });
    const r2 = await spool.append(batch(2)); // written; its sync (3) fails
    assert.ok(r2.ok);
    const d2 = await r2.durable;
    assert.deepEqual(d2.ok ? 'ok' : [d2.reason, /injected EIO/.test(d2.message)], ['io', true]);
    assert.equal(counters.get('palisade_relay_spool_write_errors_total'), 1);
    const r3 = await spool.append(batch(3));
    assert.ok(r3.ok);
    assert.equal(r3.lsn, 3n);
    assert.deepEqual(await r3.durable, { ok: true });
    assert.equal(segFiles(dir).length, 2, 'the group after the failure went to a new segment');
    await spool.close();
    const again = await open(dir);
    // a2's bytes reached the file before its sync failed: recovery keeps them (never acked, so
    // the sender resends it and dedup takes the resend as a duplicate; nothing is lost)
    assert.deepEqual(again.recovery.recovery.records.map((r) => r.firstSeq), [1n, 2n, 3n]);
    await again.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a group write runs off the loop thread: while it is held the loop runs and new appends wait, then go out as the next group, in LSN order; a failed write fails its group only', async () => {
  const dir = tmp();
  const gates: Array<() => void> = [];
  const writes: number[] = []; // buffers per group write call
  let failNext = false;
  const write = async (fh: FileHandle, bufs: Buffer[], position: number): Promise<number> => {
    writes.push(bufs.length);
    if (failNext) {
      failNext = false;
      throw new Error('injected EIO on write');
    }
    if (writes.length === 1) await new Promise<void>((resolve) => gates.push(resolve)); // the first group write is held
    return (await fh.writev(bufs, position)).bytesWritten;
  };
  const { spool, counters } = await open(dir, {}, { write });
  try {
    const order: bigint[] = [];
    const track = (p: Promise<AppendResult>): Promise<AppendResult> => p.then((r) => { if (r.ok) order.push(r.lsn); return r; });
    const a1 = track(spool.append(batch(1)));
    for (let i = 0; i < 200 && gates.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(gates.length, 1, 'the first group write is in flight');
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 2);
    const rest = [2, 3, 4].map((i) => track(spool.append(batch(i))));
    // bounded wait, not a fixed sleep: a descheduled test process may run a 2 ms interval once in 40 ms
    for (let i = 0; i < 400 && ticks < 3; i++) await new Promise((r) => setTimeout(r, 5));
    clearInterval(timer);
    assert.ok(ticks >= 3, `timers ran while the write was held (${ticks} ticks)`);
    assert.equal(writes.length, 1, 'no second write while the first is in flight');
    assert.deepEqual(order, [], 'nothing resolved before its write completed');
    gates.shift()?.();
    const results = await Promise.all([a1, ...rest]);
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(order, [1n, 2n, 3n, 4n], 'resolved in LSN order');
    assert.equal(writes.length, 2, 'a2..a4 went out as one group');
    assert.ok((writes[1] ?? 0) >= 6, `the second group carries the three records (${writes[1]} buffers: head and payload each, maybe a mark)`);
    for (const r of results) assert.deepEqual(r.ok && await r.durable, { ok: true });

    failNext = true;
    const r5 = await spool.append(batch(5));
    assert.deepEqual(r5.ok ? 'ok' : [r5.reason, /injected EIO on write/.test(r5.message)], ['io', true]);
    assert.equal(counters.get('palisade_relay_spool_write_errors_total'), 1);
    const r6 = await spool.append(batch(6));
    assert.ok(r6.ok, 'the next group is written');
    assert.deepEqual(await r6.durable, { ok: true });
    assert.equal(segFiles(dir).length, 2, 'the group after the failed write went to a new segment');
    await spool.close();
    const again = await open(dir);
    assert.deepEqual(again.recovery.recovery.records.map((r) => r.firstSeq), [1n, 2n, 3n, 4n, 6n], 'the failed group left nothing');
    await again.spool.close();
  } finally {
    while (gates.length > 0) gates.shift()?.();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn tail is truncated and counted; a flipped byte in the middle skips only that record', async () => {
  const dir = tmp();
  try {
    const a = await open(dir);
    for (let i = 1; i <= 10; i++) assert.ok((await a.spool.append(batch(i, 200))).ok);
    await a.spool.close();
    const [name] = segFiles(dir);
    const file = join(dir, name as string);
    const size = statSync(file).size;
    const rec = (size - SEGMENT_HEADER_BYTES) / 10;
    assert.ok(Number.isInteger(rec), 'equal-sized records');
    // flip one byte inside record 4's payload, cut record 10 in half
    const bytes = readFileSync(file);
    const at = SEGMENT_HEADER_BYTES + 3 * rec + 60;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(file, bytes);
    truncateSync(file, size - Math.floor(rec / 2));

    const b = await open(dir);
    const r = b.recovery.recovery;
    assert.deepEqual(r.records.map((x) => Number(x.firstSeq)), [1, 2, 3, 5, 6, 7, 8, 9]);
    assert.equal(r.corrupt, 1);
    assert.equal(r.torn, 1);
    assert.equal(b.counters.get('palisade_relay_spool_corrupt_records_total', { kind: 'corrupt' }), 1);
    assert.equal(b.counters.get('palisade_relay_spool_corrupt_records_total', { kind: 'torn_tail' }), 1);
    assert.equal(statSync(file).size, SEGMENT_HEADER_BYTES + 9 * rec, 'truncated at the torn record');
    assert.ok((await b.spool.append(batch(11, 200))).ok);
    await b.spool.close();
    const c = await open(dir);
    assert.deepEqual(c.recovery.recovery.records.map((x) => Number(x.firstSeq)), [1, 2, 3, 5, 6, 7, 8, 9, 11]);
    assert.equal(c.recovery.recovery.torn + c.recovery.recovery.corrupt, 1, 'only the flipped record is still bad');
    await c.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted length field is resynchronised past, not taken for a torn tail', async () => {
  const dir = tmp();
  try {
    const a = await open(dir);
    for (let i = 1; i <= 5; i++) assert.ok((await a.spool.append(batch(i, 50))).ok);
    await a.spool.close();
    const file = join(dir, segFiles(dir)[0] as string);
    const bytes = readFileSync(file);
    const rec = (bytes.length - SEGMENT_HEADER_BYTES) / 5;
    bytes.writeUInt32LE(0x7fff_0000, SEGMENT_HEADER_BYTES + rec); // record 2 claims a huge length
    writeFileSync(file, bytes);
    const b = await open(dir);
    assert.deepEqual(b.recovery.recovery.records.map((x) => Number(x.firstSeq)), [1, 3, 4, 5]);
    assert.equal(b.recovery.recovery.corrupt, 1);
    assert.equal(b.recovery.recovery.torn, 0);
    await b.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an all-zero gap (written pages a power loss lost while later ones had reached the disk) is skipped as unwritten, not corrupt', async () => {
  const dir = tmp();
  try {
    const a = await open(dir);
    await Promise.all([1, 2, 3].map((i) => a.spool.append(batch(i))));
    await a.spool.close();
    const [name] = segFiles(dir);
    const file = join(dir, name as string);
    const bytes = readFileSync(file);
    const first = SEGMENT_HEADER_BYTES + 8 + bytes.readUInt32LE(SEGMENT_HEADER_BYTES); // record 1's end
    const secondEnd = first + 8 + bytes.readUInt32LE(first);
    bytes.fill(0, first, secondEnd);
    writeFileSync(file, bytes);
    const b = await open(dir);
    assert.deepEqual(b.recovery.recovery.records.map((r) => r.firstSeq), [1n, 3n]);
    assert.equal(b.counters.get('palisade_relay_spool_corrupt_records_total', { kind: 'unwritten' }), 1);
    assert.equal(b.counters.get('palisade_relay_spool_corrupt_records_total', { kind: 'corrupt' }), 0);
    assert.equal(b.recovery.recovery.corrupt, 0);
    await b.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('full: a batch that does not fit is refused and counted; retention frees only synced segments, then it is accepted', async () => {
  const dir = tmp();
  let hubOldest = 0;
  // while holding, data syncs wait for their gate; a new segment's header sync returns at once
  const gates: Array<() => void> = [];
  let holding = true;
  const sync = async (fh: FileHandle): Promise<void> => {
    if (holding && (await fh.stat()).size > SEGMENT_HEADER_BYTES) await new Promise<void>((resolve) => { if (holding) gates.push(resolve); else resolve(); });
    await fh.datasync();
  };
  const { spool, counters } = await open(dir, { maxBytes: 4096, segmentBytes: 1024 }, { hubOldest: () => hubOldest, sync });
  try {
    const lsns: bigint[] = [];
    const durables: Array<Promise<unknown>> = [];
    let refused: AppendResult | undefined;
    for (let i = 1; i <= 40 && !refused; i++) {
      const r = await spool.append(batch(i, 200));
      if (r.ok) { lsns.push(r.lsn); durables.push(r.durable); } else refused = r;
    }
    assert.ok(refused && !refused.ok && refused.reason === 'full', 'refused when full');
    assert.equal(counters.get('palisade_relay_spool_refused_batches_total', { reason: 'full' }), 1);
    assert.ok(spool.bytes <= 4096);
    const segsBefore = segFiles(dir).length;
    assert.ok(segsBefore >= 3, `rolled into segments (${segsBefore})`);
    // published, but the hub still holds them: still full
    lsns.forEach((l, i) => spool.published(l, i + 1));
    assert.equal((await spool.append(batch(100, 200))).ok, false);
    // the hub moved past them, but their syncs have not returned: nothing may go yet
    hubOldest = lsns.length + 1;
    assert.equal((await spool.append(batch(101, 200))).ok, false, 'an unsynced segment is never deleted');
    assert.equal(segFiles(dir).length, segsBefore);
    // every sync returns: the oldest segments may go
    holding = false;
    let settled = false;
    void Promise.all(durables).then(() => { settled = true; });
    for (let i = 0; i < 10_000 && !settled; i++) {
      gates.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(settled, 'every append became durable');
    const r = await spool.append(batch(102, 200));
    assert.ok(r.ok, 'accepted once space is free');
    assert.ok(segFiles(dir).length < segsBefore + 1);
    assert.ok(counters.get('palisade_relay_spool_deleted_segments_total', { reason: 'bytes' }) >= 1);
    assert.equal(counters.get('palisade_relay_spool_refused_batches_total', { reason: 'full' }), 3);
    assert.equal(counters.get('palisade_relay_spool_bytes'), spool.bytes);
  } finally {
    holding = false;
    while (gates.length > 0) gates.shift()?.();
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('age retention deletes only old segments whose events left the hub; never unpublished ones', async () => {
  const dir = tmp();
  let t = 1_000_000;
  let hubOldest = 0;
  const { spool, counters } = await open(dir, { segmentBytes: 600, maxAgeSec: 10 }, { now: () => t, hubOldest: () => hubOldest });
  try {
    const lsns: bigint[] = [];
    for (let i = 1; i <= 8; i++) {
      const r = await spool.append(batch(i, 200));
      assert.ok(r.ok);
      lsns.push(r.lsn);
      assert.deepEqual(await r.durable, { ok: true }); // an unsynced segment is never deleted
    }
    const before = segFiles(dir).length;
    assert.ok(before >= 3);
    t += 11_000;
    await spool.expire();
    assert.equal(segFiles(dir).length, before, 'unpublished: kept');
    lsns.slice(0, 4).forEach((l, i) => spool.published(l, i + 1));
    hubOldest = 100;
    await spool.expire();
    const after = segFiles(dir).length;
    assert.ok(after < before && after >= 2, `old published segments deleted (${before} -> ${after})`);
    assert.equal(counters.get('palisade_relay_spool_deleted_segments_total', { reason: 'age' }), before - after);
  } finally {
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: spool.* from flags, env and file; the commands fill an empty dir with the state directory; bounds checked', async () => {
  const { loadRelayConfig, defaultConfig, formatProblem } = await import('../../../relay/config.js');
  const { spoolOn, defaultSpoolDir } = await import('../../../relay/spool/config.js');
  assert.equal(spoolOn(defaultConfig().spool), false, 'defaultConfig(): no directory, in memory');
  const cmd = loadRelayConfig({ env: { XDG_STATE_HOME: '/st' } });
  assert.ok(cmd.ok);
  assert.equal(cmd.value.spool.dir, defaultSpoolDir({ XDG_STATE_HOME: '/st' }), 'the commands spool to the state directory by default');
  assert.equal(spoolOn(cmd.value.spool), true);
  const r = loadRelayConfig({ env: { PALISADE_RELAY_SPOOL_DIR: '/var/tmp/x', PALISADE_RELAY_SPOOL_FSYNC: 'false' }, flags: { 'spool-max-bytes': '16777216', 'spool-segment-bytes': '1048576' } });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.spool, { enabled: true, dir: '/var/tmp/x', maxBytes: 16_777_216, segmentBytes: 1_048_576, fsync: false, maxAgeSec: 604_800 });
  assert.equal(spoolOn(r.value.spool), true);
  const off = loadRelayConfig({ flags: { 'spool-dir': '/var/tmp/x', 'spool-enabled': 'false' } });
  assert.ok(off.ok && !spoolOn(off.value.spool));
  const bad = loadRelayConfig({ flags: { 'spool-dir': '/var/tmp/x', 'spool-max-bytes': '100000', 'spool-segment-bytes': '80000' } });
  assert.ok(!bad.ok);
  assert.match(bad.problems.map(formatProblem).join('\n'), /spool\.maxBytes: must be at least twice spool\.segmentBytes/);
  assert.equal(defaultSpoolDir({}, 0), '/var/lib/palisade/relay-spool');
  assert.equal(defaultSpoolDir({ XDG_STATE_HOME: '/st' }, 1000), '/st/palisade/relay-spool');
});

test('a segment left with only its header (crash right after it was created) does not block new segments', async () => {
  const dir = tmp();
  try {
    const a = await open(dir);
    assert.ok((await a.spool.append(batch(1))).ok);
    await a.spool.close();
    // the next process created segment 2 and died before its first record
    const { segmentHeader, segmentName } = await import('../../../relay/spool/format.js');
    writeFileSync(join(dir, segmentName(2n)), segmentHeader());
    const b = await open(dir);
    assert.deepEqual(b.recovery.recovery.records.map((r) => r.lsn), [1n]);
    const r = await b.spool.append(batch(2));
    assert.ok(r.ok, 'appended to a new segment');
    assert.equal(r.ok && r.lsn, 3n);
    await b.spool.close();
    const c = await open(dir);
    assert.deepEqual(c.recovery.recovery.records.map((x) => x.lsn), [1n, 3n]);
    await c.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recovery keeps the bytes of only the newest records within keepRawBytes', async () => {
  const dir = tmp();
  try {
    const a = await open(dir, { segmentBytes: 600 });
    for (let i = 1; i <= 10; i++) assert.ok((await a.spool.append(batch(i, 100))).ok);
    await a.spool.close();
    assert.ok(segFiles(dir).length >= 2, 'records spread over segments');
    const b = await open(dir, { segmentBytes: 600 }, { keepRawBytes: 350 });
    const recs = b.recovery.recovery.records;
    assert.equal(recs.length, 10, 'every record still rebuilds dedup');
    assert.deepEqual(recs.map((r) => r.raw.length), [0, 0, 0, 0, 0, 0, 0, 100, 100, 100]);
    assert.equal(recs[9]?.raw[0], 10);
    await b.spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each group write and each sync is published on its diagnostics channel (records, bytes, seconds) when subscribed', async () => {
  const dir = tmp();
  const writes: SpoolWriteMessage[] = [];
  const syncs: SpoolSyncMessage[] = [];
  const onWrite = (m: unknown): void => { writes.push(m as SpoolWriteMessage); };
  const onSync = (m: unknown): void => { syncs.push(m as SpoolSyncMessage); };
  subscribe(SPOOL_WRITE_CHANNEL, onWrite);
  subscribe(SPOOL_SYNC_CHANNEL, onSync);
  try {
    const { spool } = await open(dir);
    const results = await Promise.all([1, 2, 3].map((i) => spool.append(batch(i, 100))));
    for (const r of results) {
      assert.ok(r.ok);
      assert.deepEqual(await r.durable, { ok: true });
    }
    const written = writes.reduce((n, w) => n + w.records, 0);
    assert.ok(written >= 3, `the three appends were written as ${written} records (a group write may add a mark record)`);
    assert.ok(writes.every((w) => w.bytes > 0 && w.seconds >= 0 && w.seconds < 60), JSON.stringify(writes));
    assert.ok(writes.reduce((n, w) => n + w.bytes, 0) >= 300, 'at least the three payloads were written');
    assert.ok(syncs.length >= 1 && syncs.every((s) => s.ok), JSON.stringify(syncs));
    assert.ok(syncs.reduce((n, s) => n + s.records, 0) >= 3, 'the syncs covered the three records');
    await spool.close();
  } finally {
    unsubscribe(SPOOL_WRITE_CHANNEL, onWrite);
    unsubscribe(SPOOL_SYNC_CHANNEL, onSync);
    rmSync(dir, { recursive: true, force: true });
  }
});
