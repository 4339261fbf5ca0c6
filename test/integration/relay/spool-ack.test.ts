// Ingest with the spool, over real gRPC on loopback, the relay's own ingest server,
// pipeline and hub, and real spool files:
//   - ordering: with an injected fdatasync that waits to be released, no ack reaches
//     the enforcer before the record's sync returned, while its events reach the hub
//     once the record is written (in the page cache: it survives a relay crash);
//   - a full spool: the batch gets a retryable UNAVAILABLE IngestError (counted), and
//     the same batch is accepted once retention frees space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { IngestErrorCode } from '../../../proto/gen/palisade/v1/ingest.js';
import { defaultConfig } from '../../../relay/config.js';
import { createRelayEventFactory } from '../../../relay/event.js';
import { createEnricher } from '../../../relay/enrich/enricher.js';
import { createHub } from '../../../relay/hub/hub.js';
import { createDedupWindow } from '../../../relay/ingest/dedup-window.js';
import { createIngestServer } from '../../../relay/ingest/ingest-server.js';
import { createCounters, type Counters } from '../../../relay/metrics/counters.js';
import { createPipeline } from '../../../relay/pipeline.js';
import { defaultSpoolConfig, type SpoolConfig } from '../../../relay/spool/config.js';
import { openSpool, type Spool, type SpoolDeps } from '../../../relay/spool/spool.js';
import { createCollapser } from '../../../relay/throttle/collapse.js';
import { createThrottle } from '../../../relay/throttle/throttle.js';
import { Enforcer, until } from './support.js';

const log = pino({ level: 'silent' });

type Harness = { address: string; spool: Spool; counters: Counters; order: string[]; /** first seq of each batch handed to spool.append, in call order */ appends: bigint[]; hubHead: () => number; close: () => Promise<void> };

async function harness(dir: string, spoolCfg: Partial<SpoolConfig>, deps: Partial<SpoolDeps>): Promise<Harness> {
  const counters = createCounters();
  const order: string[] = [];
  const hub = createHub({ ringSize: 10_000, clientQueueSize: 10_000, counters, compact: true });
  const inner = createPipeline({
    enricher: createEnricher(undefined, 0, counters), collapser: createCollapser(0, Date.now),
    throttle: createThrottle({ ...defaultConfig().throttle, enabled: false }, Date.now, createRelayEventFactory('relay-boot'), counters), hub, counters,
  });
  const pipeline = { submit: async (evs: Parameters<typeof inner.submit>[0]) => { await inner.submit(evs); order.push(`hub:${evs.length}`); }, tick: inner.tick };
  const opened = await openSpool({ ...defaultSpoolConfig(), dir, ...spoolCfg }, { counters, log, ...deps });
  if (!opened.ok) throw new Error(opened.error);
  const spool = opened.spool;
  const appends: bigint[] = [];
  const ingest = createIngestServer({
    config: defaultConfig().ingest, clusterName: 'c', dedup: createDedupWindow({ window: 65_536 }), pipeline, counters, log,
    spool: { append: (b) => { appends.push(b.firstSeq); return spool.append(b); }, published: (lsn) => spool.published(lsn, hub.head) },
  });
  const server = new Server();
  server.addService(ingest.service, ingest.implementation);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return {
    address: `127.0.0.1:${port}`, spool, counters, order, appends, hubHead: () => hub.head,
    close: async () => { server.forceShutdown(); await spool.close(); },
  };
}

type HeldSync = { h: Harness; e: Enforcer; gates: Array<() => void>; hold: () => void; release: () => void; close: () => Promise<void> };

/** A relay whose fdatasync calls can be held (each waits for its gate), and an enforcer whose first batch (seqs 1..5) was acked with syncs not held. */
async function withHeldSync(prefix: string): Promise<HeldSync> {
  const dir = mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), prefix));
  const gates: Array<() => void> = [];
  let holding = false;
  const sync = (fh: FileHandle): Promise<void> => (holding ? new Promise<void>((r) => gates.push(() => fh.datasync().then(r, r))) : fh.datasync());
  const h = await harness(dir, {}, { sync });
  const e = new Enforcer(h.address, 'n1', 'b1').open();
  const release = (): void => {
    holding = false;
    while (gates.length > 0) gates.shift()?.();
  };
  const close = async (): Promise<void> => {
    release();
    e.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    e.hello();
    e.alerts(1, 5);
    await until(() => e.acked('b1') === 5n, 'first batch acked (syncs not held)');
  } catch (err) {
    await close();
    throw err;
  }
  return { h, e, gates, hold: () => { holding = true; }, release, close };
}

test('no ack before the spool record is synced; its events reach the hub once it is written', { timeout: 60_000 }, async () => {
  const { h, e, gates, hold, release, close } = await withHeldSync('relay-spool-ack-');
  try {
    hold();
    e.responses.length = 0;
    e.alerts(6, 10);
    await until(() => gates.length > 0, 'the record is written and its fdatasync waits');
    // the batch is in the spool writer; give the relay every chance to ack early
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(e.responses.length, 0, 'no ack while the fdatasync is pending');
    await until(() => h.order.length === 2, 'the written batch is handed off while its sync waits');
    assert.deepEqual(h.order, ['hub:5', 'hub:5']);
    assert.equal(h.hubHead(), 10);
    assert.equal(e.responses.length, 0, 'still no ack');
    release();
    await until(() => e.acked('b1') === 10n, 'acked after the sync');
    assert.equal(h.hubHead(), 10, 'handed off once');
    assert.equal(h.counters.get('palisade_relay_spool_records_total'), 2);
  } finally {
    await close();
  }
});

test('a batch that arrives while the previous one waits for its sync goes to the spool at once, not after that ack', { timeout: 60_000 }, async () => {
  const { h, e, gates, hold, release, close } = await withHeldSync('relay-spool-pipe-');
  try {
    hold();
    e.alerts(6, 10);
    await until(() => gates.length > 0, 'the second batch is written and its sync waits');
    e.alerts(11, 15); // arrives while 6..10 waits for the disk
    await until(() => h.appends.includes(11n), 'the third batch handed to the spool while the second is not acked');
    await until(() => h.order.length === 3, 'the third batch is handed off while the second waits for its sync');
    assert.equal(e.acked('b1'), 5n, 'nothing acked past the first batch yet');
    release();
    await until(() => e.acked('b1') === 15n, 'both acked once the syncs return');
    assert.deepEqual(h.order, ['hub:5', 'hub:5', 'hub:5'], 'handed off in stream order');
    assert.deepEqual(h.appends, [1n, 6n, 11n]);
  } finally {
    await close();
  }
});

test('spool full: retryable UNAVAILABLE, counted; the resent batch is accepted once space is freed', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), 'relay-spool-full-'));
  let hubOldest = 0;
  const h = await harness(dir, { maxBytes: 64 * 1024, segmentBytes: 16 * 1024 }, { hubOldest: () => hubOldest });
  const e = new Enforcer(h.address, 'n1', 'b1').open();
  try {
    e.hello();
    let seq = 0;
    let refusedAt = -1;
    // ~1.2 KiB per batch: the spool fills after roughly 50 batches
    for (let b = 0; b < 200 && refusedAt < 0; b++) {
      e.alerts(seq + 1, seq + 4, (s) => ({ Data: 'x'.repeat(250 + (s % 3)) }));
      seq += 4;
      await until(() => e.responses.some((r) => r.error !== undefined) || e.acked('b1') === BigInt(seq), `batch ${b} answered`);
      const err = e.responses.find((r) => r.error !== undefined)?.error;
      if (err) {
        refusedAt = seq;
        assert.equal(err.code, IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE);
        assert.equal(err.retryable, true);
        assert.match(err.message, /spool full/);
        assert.equal(err.firstSeq, BigInt(seq - 3));
      }
    }
    assert.ok(refusedAt > 0, 'the spool filled up');
    assert.equal(e.acked('b1'), BigInt(refusedAt - 4), 'acked up to the refused batch');
    assert.equal(h.counters.get('palisade_relay_ingest_rejected_total', { reason: 'spool_full' }), 1);
    assert.equal(h.counters.get('palisade_relay_spool_refused_batches_total', { reason: 'full' }), 1);
    assert.equal(h.hubHead(), refusedAt - 4, 'the refused batch did not reach the hub');
    // the hub moves past the oldest events: retention may delete their segments
    hubOldest = h.hubHead() + 1;
    e.responses.length = 0;
    e.alerts(refusedAt - 3, refusedAt, (s) => ({ Data: 'x'.repeat(250 + (s % 3)) }));
    await until(() => e.acked('b1') === BigInt(refusedAt) || e.responses.some((r) => r.error !== undefined), 'resent batch answered');
    assert.equal(e.responses.find((r) => r.error !== undefined), undefined);
    assert.equal(e.acked('b1'), BigInt(refusedAt));
    assert.equal(h.hubHead(), refusedAt);
    assert.ok(h.counters.get('palisade_relay_spool_deleted_segments_total', { reason: 'bytes' }) >= 1);
  } finally {
    e.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pipelined batches of one stream: hand-off and acks in stream order; a resend overlapping a batch in flight is published once', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), 'relay-spool-pipe-'));
  const gates: Array<() => void> = [];
  let holding = true;
  const sync = (fh: FileHandle): Promise<void> => (holding ? new Promise<void>((r) => gates.push(() => fh.datasync().then(r, r))) : fh.datasync());
  const h = await harness(dir, {}, { sync });
  const e = new Enforcer(h.address, 'n1', 'b1').open();
  try {
    e.hello();
    await until(() => e.responses.length === 1, 'hello answered');
    e.alerts(1, 5);
    await until(() => gates.length > 0, 'segment header sync waiting');
    gates.shift()?.(); // the new segment's header
    await until(() => gates.length > 0, 'batch 1..5 sync waiting');
    e.alerts(6, 10);
    e.alerts(1, 5); // a resend of the batch in flight
    e.alerts(11, 15);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(e.responses.length, 1, 'nothing acked while the first sync is held');
    holding = false;
    while (gates.length > 0) gates.shift()?.();
    await until(() => e.acked('b1') === 15n, 'all acked');
    const acks = e.responses.slice(1).map((r) => Number(r.ackedSeq));
    assert.deepEqual([...acks].sort((a, b) => a - b), acks, 'acks never go back');
    assert.equal(h.hubHead(), 15, 'every event in the hub once (the resend was a duplicate)');
    assert.equal(h.counters.get('palisade_relay_ingest_duplicate_events_total'), 5);
    assert.deepEqual(h.order, ['hub:5', 'hub:5', 'hub:0', 'hub:5'], 'hand-off in stream order');
  } finally {
    holding = false;
    while (gates.length > 0) gates.shift()?.();
    e.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
