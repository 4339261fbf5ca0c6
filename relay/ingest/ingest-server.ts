// palisade.v1 Ingest: one bidirectional stream per enforcer (see
// proto/palisade/v1/ingest.proto for the protocol).
//
// Guarantees:
//   - an ack for (node, boot) covers only seqs whose batch went through
//     pipeline.submit() (handed to the hub) or that the sender declared lost (a gap
//     inside a batch range); acks never go backwards (DedupWindow);
//   - with a spool (relay/spool), the batch's record (the request bytes as received,
//     plus the values filled into empty fields) is written — spool.append() resolved:
//     it survives a relay crash — before pipeline.submit(), and synced — its
//     `durable` settled: it survives a power loss — before the ack. Events are decoded
//     only after the write (batch-scan.ts: until the hand-off a batch is its bytes and
//     its seqs), so batches waiting for their turn hold no decoded events. A full spool refuses the batch with a retryable
//     UNAVAILABLE (rejected{reason="spool_full"}); the enforcer keeps and resends it;
//   - duplicates (retransmits after a reconnect) are dropped and counted, never
//     published twice while their sequence space is remembered;
//   - batches of one stream are processed one at a time, in order; reading from the
//     stream pauses while `maxQueuedBatches` wait, so a fast sender is slowed by
//     HTTP/2 flow control instead of growing memory.
// Limits, each with its status and counter (palisade_relay_ingest_rejected_total{reason},
// palisade_relay_ingest_cutoff_total{reason}):
//   message > ingest.maxMessageBytes   RESOURCE_EXHAUSTED (grpc-js, counted by status-counter)
//   undecodable message                 INTERNAL (grpc-js) + rejected{reason=malformed}
//   more than ingest.maxStreams         RESOURCE_EXHAUSTED
//   no hello within helloTimeoutMs      DEADLINE_EXCEEDED
//   first message not a hello           IngestError HELLO_REQUIRED, then INVALID_ARGUMENT
//   batch of another node / bad range   IngestError (not retryable), stream stays open
//   over the connection's events/s      IngestError UNAVAILABLE (retryable) + FlowControl.pause_ms;
//                                       a sender that keeps pushing (MAX_RATE_STRIKES more refusals
//                                       than successes) is cut off: RESOURCE_EXHAUSTED
// Shutdown: drain() refuses new batches (UNAVAILABLE, retryable), waits for the
// batch in progress, and ends every stream with UNAVAILABLE so enforcers reconnect.
import { status as Status, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  IngestErrorCode,
  IngestResponse,
  IngestService,
  type DeepPartial,
  type Hello,
} from '../../proto/gen/palisade/v1/ingest.js';
import type { RelayConfig } from '../config.js';
import type { RelayEvent } from '../event.js';
import type { Counters } from '../metrics/counters.js';
import type { Pipeline } from '../pipeline.js';
import { batchEvents } from './batch-events.js';
import { scanIngestRequest, type ScannedBatch, type ScannedRequest } from './batch-scan.js';
import type { DedupWindow } from './dedup-window.js';
import { makeFiller } from './fill.js';
import { createTokenBucket, type TokenBucket } from './token-bucket.js';
import { createTurnBudget } from './turn-budget.js';

type Call = ServerDuplexStream<ScannedRequest, IngestResponse>;

export type IngestDeps = {
  readonly config: RelayConfig['ingest'];
  readonly clusterName: string;
  readonly dedup: DedupWindow;
  readonly pipeline: Pipeline;
  readonly counters: Counters;
  readonly log: Logger;
  /** The relay's write-ahead log; absent: acks follow the in-memory hand-off. */
  readonly spool?: IngestSpool;
};

/** What ingest needs of relay/spool (relay.ts adds the hub's head to published()). */
export interface IngestSpool {
  /** ok: the record is written (survives a relay crash: the events may be handed off); `durable`: synced (the batch may be acked). */
  append(b: SpoolBatch): Promise<{ ok: true; lsn: bigint; durable: Promise<{ ok: true } | { ok: false; reason: 'io'; message: string }> } | { ok: false; reason: 'full' | 'closed' | 'io'; message: string }>;
  /** The record's events were handed to the pipeline (or the hand-off failed). */
  published(lsn: bigint): void;
}

export type SpoolBatch = {
  readonly nodeId: string;
  readonly bootId: string;
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly receivedAtMs: number;
  readonly hostName: string;
  readonly clusterName: string;
  /** IngestRequest{batch} bytes as received. */
  readonly raw: Buffer;
};

/** Pause asked of a sender whose batch the full spool refused. */
const SPOOL_FULL_PAUSE_MS = 1000;
/** Batches of one stream in flight with the spool (see StreamState.pump()). */
const SPOOL_PIPELINE = 8;

export interface IngestServer {
  readonly service: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
  readonly activeStreams: number;
  /** Stops taking batches, waits for in-progress ones, ends every stream (UNAVAILABLE). */
  drain(signal: AbortSignal): Promise<void>;
}

const MAX_QUEUED_BATCHES = 8;
/**
 * With the spool: hand-off work (decode, enrich, publish) per event-loop turn before I/O
 * gets its turn (turn-budget.ts). It bounds the stall after a group commit; a smaller
 * budget starves the hand-off at saturation (4 ms: 51k events/s acked against 80-94k
 * with 16 ms, one relay on 2 vCPUs). Without the spool, batches are handed off as they
 * arrive, already interleaved with I/O, and no budget applies.
 */
const HANDOFF_BUDGET_MS = 16;
const MAX_RATE_STRIKES = 20;

type Conn = { bucket: TokenBucket; streams: number };

export function createIngestServer(d: IngestDeps): IngestServer {
  const conns = new Map<string, Conn>();
  const streams = new Set<StreamState>();
  const handoffBudget = createTurnBudget(HANDOFF_BUDGET_MS);
  let draining = false;
  const reject = (reason: string, n = 1): void => d.counters.inc('palisade_relay_ingest_rejected_total', { reason }, n);
  const cutoff = (reason: string): void => d.counters.inc('palisade_relay_ingest_cutoff_total', { reason });

  // Same wire contract as IngestService; deserialize failures are counted before grpc-js answers INTERNAL.
  const service: ServiceDefinition = {
    stream: {
      ...IngestService.stream,
      requestDeserialize: (b: Buffer): ScannedRequest => {
        try {
          return scanIngestRequest(b);
        } catch (err) {
          reject('malformed');
          throw err;
        }
      },
    },
  };

  class StreamState {
    hello: Hello | undefined;
    queue: ScannedBatch[] = [];
    busy: Promise<void> | undefined;
    ended = false;
    strikes = 0;
    readonly helloTimer: NodeJS.Timeout;
    constructor(readonly call: Call, readonly conn: Conn, readonly peer: string) {
      this.helloTimer = setTimeout(() => {
        if (!this.hello) {
          cutoff('no_hello');
          this.fail(Status.DEADLINE_EXCEEDED, `no hello within ${d.config.helloTimeoutMs} ms`);
        }
      }, d.config.helloTimeoutMs);
    }

    respond(r: DeepPartial<IngestResponse> & { nodeId: string; bootId: string }): void {
      if (this.ended) return;
      this.call.write(IngestResponse.fromPartial(r));
    }

    fail(code: Status, details: string): void {
      if (this.ended) return;
      this.ended = true;
      this.queue.length = 0;
      this.call.emit('error', { code, details, name: 'IngestError', message: details });
      this.cleanup();
    }

    cleanup(): void {
      clearTimeout(this.helloTimer);
      if (!streams.delete(this)) return;
      this.conn.streams--;
      if (this.conn.streams === 0) conns.delete(this.peer);
    }

    onRequest(req: ScannedRequest): void {
      if (this.ended) return;
      if (req.kind === 'hello') {
        const h = req.hello;
        if (h.nodeId === '' || h.bootId === '') {
          reject('bad_hello');
          this.fail(Status.INVALID_ARGUMENT, 'hello: node_id and boot_id must be set');
          return;
        }
        if (this.hello && this.hello.nodeId !== h.nodeId) {
          reject('node_mismatch');
          this.fail(Status.INVALID_ARGUMENT, `hello: node_id ${h.nodeId} differs from this stream's ${this.hello.nodeId}`);
          return;
        }
        this.hello = h;
        clearTimeout(this.helloTimer);
        this.respond({ nodeId: h.nodeId, bootId: h.bootId, ackedSeq: d.dedup.acked(h.nodeId, h.bootId) });
        return;
      }
      if (!this.hello) {
        reject('hello_required');
        this.respond({ nodeId: '', bootId: '', error: { code: IngestErrorCode.INGEST_ERROR_CODE_HELLO_REQUIRED, message: 'the first request must be a hello', retryable: false } });
        this.fail(Status.INVALID_ARGUMENT, 'the first request must be a hello');
        return;
      }
      if (req.kind !== 'batch') {
        reject('empty_request');
        return;
      }
      this.queue.push(req.batch);
      if (this.queue.length >= MAX_QUEUED_BATCHES) this.call.pause();
      this.pump();
    }

    /** Ranges of this stream's batches between their admission and their ack (pipelined with the spool). */
    pending: Array<{ nodeId: string; bootId: string; first: bigint; last: bigint }> = [];
    overlapsPending(b: ScannedBatch): boolean {
      for (const r of this.pending) if (r.nodeId === b.nodeId && r.bootId === b.bootId && r.first <= b.lastSeq && b.firstSeq <= r.last) return true;
      return false;
    }

    /** Batches started and not yet finished (at most SPOOL_PIPELINE with the spool, else 1). */
    inFlight = 0;
    /** The last batch started: the next one awaits it (hand-off and ack in stream order). */
    prev: Promise<void> = Promise.resolve();
    /** Settles once the last batch started has been handed off (or will not be): the next one's hand-off awaits it. */
    prevHanded: Promise<void> = Promise.resolve();
    private idle: (() => void) | undefined;

    /**
     * Starts queued batches while the stream has room in flight. Called when a batch
     * arrives and when one finishes, so a batch that arrives while others wait for the
     * disk starts at once (its record joins the next group write) instead of waiting
     * for the oldest one to finish. `busy` is pending while anything is in flight.
     */
    pump(): void {
      const limit = d.spool ? SPOOL_PIPELINE : 1;
      while (!this.ended && this.inFlight < limit) {
        const b = this.queue.shift();
        if (b === undefined) break;
        if (this.queue.length < MAX_QUEUED_BATCHES) this.call.resume();
        if (this.inFlight++ === 0) this.busy = new Promise((resolve) => { this.idle = resolve; });
        let handedOff: () => void = () => undefined;
        const handed = new Promise<void>((resolve) => { handedOff = resolve; });
        const p = this.batch(b, this.prev, this.prevHanded, handedOff);
        void p.finally(handedOff).catch(() => undefined);
        this.prev = p;
        this.prevHanded = handed;
        p.then(() => this.settled(), (err: unknown) => {
          if (!this.ended) { // later batches await this one and fail too: counted once
            d.log.error({ err, peer: this.peer }, 'ingest stream failed');
            cutoff('internal');
            this.fail(Status.INTERNAL, 'relay error');
          }
          this.settled();
        });
      }
    }

    private settled(): void {
      this.inFlight--;
      this.pump();
      if (this.inFlight > 0) return;
      const idle = this.idle;
      this.idle = undefined;
      this.busy = undefined;
      idle?.();
      if (this.halfClosed && !this.ended) this.finish();
    }

    /**
     * The batch's fresh events, decoded now and filled (KubeArmor clients expect the
     * filled fields set). Bytes that scanned but do not decode, or decode to other
     * seqs (batch-scan.ts), are malformed: counted, and the stream fails with INTERNAL
     * as when grpc-js cannot deserialise a request; the spool record (if written) is
     * skipped as undecodable on replay.
     */
    decode(b: ScannedBatch, fresh: Uint8Array, hostName: string, clusterName: string, nowMs: number, now: bigint): RelayEvent[] | Error {
      try {
        return batchEvents(b, fresh, makeFiller(hostName, clusterName, nowMs), now);
      } catch (e) {
        reject('malformed');
        d.log.warn({ err: e, node: b.nodeId }, 'ingest: a batch did not decode; not acked');
        return e as Error; // the caller fails the stream once the batches before it are answered
      }
    }

    halfClosed = false;
    finish(): void {
      if (this.ended) return;
      this.ended = true;
      this.call.end();
      this.cleanup();
    }

    /**
     * `prev`: the previous batch of the stream, finished (acks are in stream order);
     * `prevHanded`: the previous batch handed off (hand-offs are in stream order);
     * `handedOff()` is called once this batch is handed off: with the spool the next
     * batch is handed off while this one waits for its sync.
     */
    async batch(b: ScannedBatch, prev: Promise<void>, prevHanded: Promise<void>, handedOff: () => void): Promise<void> {
      const h = this.hello as Hello;
      const ids = { nodeId: b.nodeId, bootId: b.bootId };
      const err = (code: IngestErrorCode, message: string, retryable: boolean, reason: string, pauseMs = 0): void => {
        reject(reason);
        this.respond({
          ...ids, ackedSeq: d.dedup.acked(b.nodeId, b.bootId),
          error: { code, message, retryable, firstSeq: b.firstSeq, lastSeq: b.lastSeq },
          ...(pauseMs > 0 ? { flow: { pauseMs } } : {}),
        });
      };
      if (draining) return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, 'relay is shutting down', true, 'draining');
      if (b.nodeId !== h.nodeId) return err(IngestErrorCode.INGEST_ERROR_CODE_NODE_MISMATCH, `batch.node_id ${b.nodeId} differs from hello.node_id ${h.nodeId}`, false, 'node_mismatch');
      const bad = validate(b, d.config.dedupWindow);
      if (bad) return err(IngestErrorCode.INGEST_ERROR_CODE_INVALID_BATCH, bad, false, 'invalid_batch');
      const entries = b.seqs.length;
      const take = this.conn.bucket.take(Math.max(1, entries));
      if (!take.ok) {
        if (take.never) return err(IngestErrorCode.INGEST_ERROR_CODE_TOO_LARGE, `batch of ${entries} entries exceeds ingest.maxEventsPerSec ${d.config.maxEventsPerSec}`, false, 'too_large');
        this.strikes++;
        if (this.strikes > MAX_RATE_STRIKES) {
          cutoff('rate');
          return this.fail(Status.RESOURCE_EXHAUSTED, `over ${d.config.maxEventsPerSec} events/s and ignoring pause_ms`);
        }
        return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, `over ${d.config.maxEventsPerSec} events/s; pause ${take.waitMs} ms`, true, 'rate', take.waitMs);
      }
      if (this.strikes > 0) this.strikes--; // a sender that mostly respects pause_ms never accumulates strikes
      // a batch overlapping one still in flight (a resend) waits for it: dedup must see its outcome
      if (this.overlapsPending(b)) await prev.catch(() => undefined);
      const admit = d.dedup.admit(b.nodeId, b.bootId, b.firstSeq, b.lastSeq);
      if (!admit.ok) return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, `batch ${b.firstSeq}..${b.lastSeq} is ${admit.reason.replace('_', ' ')} of acked seq; resend in order`, true, admit.reason);

      const now = process.hrtime.bigint();
      const nowMs = Date.now();
      const clusterName = h.clusterName || d.clusterName;
      // which entries are new is decided now (the events are decoded after the spool write)
      const fresh = new Uint8Array(entries);
      let freshCount = 0;
      let dups = 0;
      for (let i = 0; i < entries; i++) {
        if (d.dedup.isDuplicate(b.nodeId, b.bootId, b.seqs[i] as bigint)) dups++;
        else { fresh[i] = 1; freshCount++; }
      }
      const span = Number(b.lastSeq - b.firstSeq) + 1;
      let lost = 0;
      if (span > entries) {
        let i = 0;
        for (let s = b.firstSeq; s <= b.lastSeq; s++) {
          if (i < entries && b.seqs[i] === s) { i++; continue; }
          if (!d.dedup.isDuplicate(b.nodeId, b.bootId, s)) lost++;
        }
        d.counters.inc('palisade_relay_ingest_sender_lost_events_total', {}, lost);
      }
      d.counters.inc('palisade_relay_ingest_duplicate_events_total', {}, dups);
      let lsn: bigint | undefined;
      let durable: Promise<{ ok: true } | { ok: false; reason: 'io'; message: string }> | undefined;
      const range = { nodeId: b.nodeId, bootId: b.bootId, first: b.firstSeq, last: b.lastSeq };
      this.pending.push(range);
      try {
        if (d.spool && (freshCount > 0 || lost > 0)) {
          const w = await d.spool.append({ nodeId: b.nodeId, bootId: b.bootId, firstSeq: b.firstSeq, lastSeq: b.lastSeq, receivedAtMs: nowMs, hostName: h.nodeName, clusterName, raw: b.raw });
          await prevHanded; // hand-off in stream order
          if (!w.ok) {
            await prev; // answers in stream order
            if (w.reason === 'full') return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, `${w.message}; resend later`, true, 'spool_full', SPOOL_FULL_PAUSE_MS);
            return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, `relay cannot make the batch durable now (${w.message})`, true, 'spool_error');
          }
          lsn = w.lsn;
          durable = w.durable;
        } else {
          await prev;
        }
        if (this.ended) { // a batch before it failed the stream: not handed off, not acked (the sender resends it)
          if (lsn !== undefined) d.spool?.published(lsn);
          return;
        }
        if (d.spool) for (let turn = handoffBudget.wait(); turn !== undefined; turn = handoffBudget.wait()) await turn; // see HANDOFF_BUDGET_MS
        const events = freshCount === 0 ? [] : this.decode(b, fresh, h.nodeName, clusterName, nowMs, now);
        if (events instanceof Error) { // undecodable: counted, stream failed, never acked
          if (lsn !== undefined) d.spool?.published(lsn); // its record no longer holds retention back
          await prev; // the batches before it are answered first
          this.fail(Status.INTERNAL, `malformed batch: ${events.message}`);
          return; // handedOff() (pump) once the stream has ended: later batches see it
        }
        try {
          const handing = d.pipeline.submit(events);
          if (handing !== undefined) await handing;
        } catch (e) {
          d.log.warn({ err: e, node: b.nodeId }, 'ingest hand-off failed; batch not acked');
          await prev; // answers in stream order
          return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, 'relay cannot make the batch durable now', true, 'handoff_failed');
        } finally {
          if (lsn !== undefined) d.spool?.published(lsn);
          handedOff();
        }
        if (durable !== undefined) {
          const synced = await durable; // acked only once the record is synced
          await prev; // acks in stream order
          if (!synced.ok) return err(IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE, `relay cannot make the batch durable now (${synced.message})`, true, 'spool_error');
        }
      } finally {
        this.pending.splice(this.pending.indexOf(range), 1);
      }
      d.counters.inc('palisade_relay_ingest_events_total', {}, freshCount);
      const acked = d.dedup.commit(b.nodeId, b.bootId, b.firstSeq, b.lastSeq);
      this.respond({ ...ids, ackedSeq: acked });
    }
  }

  const implementation: UntypedServiceImplementation = {
    stream(call: Call) {
      const peer = call.getPeer();
      if (draining || streams.size >= d.config.maxStreams) {
        cutoff(draining ? 'draining' : 'max_streams');
        call.emit('error', { code: draining ? Status.UNAVAILABLE : Status.RESOURCE_EXHAUSTED, details: draining ? 'relay is shutting down' : `more than ingest.maxStreams (${d.config.maxStreams}) streams` });
        return;
      }
      let conn = conns.get(peer);
      if (!conn) {
        const rate = d.config.maxEventsPerSec;
        conn = { bucket: createTokenBucket(rate, rate), streams: 0 };
        conns.set(peer, conn);
      }
      conn.streams++;
      const s = new StreamState(call, conn, peer);
      streams.add(s);
      call.on('data', (req: ScannedRequest) => s.onRequest(req));
      call.on('end', () => {
        s.halfClosed = true;
        if (!s.busy) s.finish();
      });
      call.on('cancelled', () => {
        s.ended = true;
        s.queue.length = 0;
        s.cleanup();
      });
      call.on('error', () => {
        s.ended = true;
        s.cleanup();
      });
    },
  };

  return {
    service,
    implementation,
    get activeStreams() {
      return streams.size;
    },
    async drain(signal) {
      draining = true;
      const busy = [...streams].map((s) => s.busy).filter((p): p is Promise<void> => p !== undefined);
      await Promise.race([Promise.allSettled(busy), new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
      for (const s of [...streams]) s.fail(Status.UNAVAILABLE, 'relay is shutting down');
    },
  };
}

/** Batch rules from ingest.proto; returns what is wrong, naming the field. */
function validate(b: ScannedBatch, maxSpan: number): string | undefined {
  if (b.bootId === '') return 'batch.boot_id must be set';
  if (b.firstSeq < 1n) return `batch.first_seq must be >= 1, got ${b.firstSeq}`;
  if (b.lastSeq < b.firstSeq) return `batch.last_seq ${b.lastSeq} < first_seq ${b.firstSeq}`;
  if (b.lastSeq - b.firstSeq >= BigInt(maxSpan)) return `batch range ${b.firstSeq}..${b.lastSeq} is longer than ingest.dedupWindow ${maxSpan}`;
  let prev = 0n;
  for (let i = 0; i < b.seqs.length; i++) {
    const seq = b.seqs[i] as bigint;
    if (seq < b.firstSeq || seq > b.lastSeq) return `batch.entries[${i}].seq ${seq} outside ${b.firstSeq}..${b.lastSeq}`;
    if (seq <= prev) return `batch.entries[${i}].seq ${seq} not increasing`;
    if (b.hasEvent[i] !== 1) return `batch.entries[${i}].event is empty`;
    prev = seq;
  }
  return undefined;
}
