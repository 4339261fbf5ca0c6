// The agent's side of palisade.v1 Ingest (proto/palisade/v1/ingest.proto): one
// bidirectional stream to the relay; hello first, then batches taken from the outbox, at
// most `maxInFlight` unanswered (FlowControl hints lower it and the batch size, pause_ms
// pauses sending). Acks free outbox entries. On a retryable error the
// unacked range is resent (after FlowControl.pause_ms); on a non-retryable batch error
// the batch's entries are dropped and counted (outbox.reject) so the stream cannot loop
// on one bad batch; TOO_LARGE halves the batch size instead.
// When the stream ends (relay restart, network), it is reopened after a jittered
// exponential backoff (initialBackoffMs doubling to maxBackoffMs); the hello answer says
// where the relay stands and everything unacked is resent. Nothing here throws into the
// caller; failures are counted in stats() and logged once per state change.
import { credentials as grpcCredentials, type ChannelCredentials, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { IngestClient as GrpcIngestClient, IngestErrorCode, type IngestRequest, type IngestResponse } from '../../proto/gen/palisade/v1/ingest.js';
import type { Outbox } from './outbox.js';

export type IngestClientConfig = {
  /** host:port of the relay's ingest listener */
  readonly address: string;
  readonly nodeName: string;
  readonly clusterName: string;
  readonly agentVersion: string;
  readonly capabilities: readonly string[];
  /** unanswered batches on the stream (default 4) */
  readonly maxInFlight: number;
  /** how long new entries wait to fill a batch, ms (default 20) */
  readonly lingerMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly credentials?: ChannelCredentials;
};

export function defaultIngestClientConfig(address: string, nodeName: string): IngestClientConfig {
  return { address, nodeName, clusterName: '', agentVersion: '0.1.0', capabilities: [], maxInFlight: 4, lingerMs: 20, initialBackoffMs: 200, maxBackoffMs: 5_000 };
}

export type IngestClientStats = {
  readonly connected: boolean;
  readonly connects: number;
  readonly disconnects: number;
  readonly batchesSent: number;
  readonly entriesSent: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly lastError: string;
  readonly inFlight: number;
};

export interface AgentIngestClient {
  start(): void;
  /** New entries are in the outbox. */
  kick(): void;
  /** Resolves true once the outbox is empty (everything acked), false at the deadline. */
  flush(deadlineMs: number): Promise<boolean>;
  stop(): void;
  readonly connected: boolean;
  stats(): IngestClientStats;
}

type Call = ClientDuplexStream<IngestRequest, IngestResponse>;

export function createIngestClient(config: IngestClientConfig, outbox: Outbox, log: Logger): AgentIngestClient {
  const { nodeId, bootId } = outbox.config;
  const client = new GrpcIngestClient(config.address, config.credentials ?? grpcCredentials.createInsecure(), {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.initial_reconnect_backoff_ms': config.initialBackoffMs,
    'grpc.max_reconnect_backoff_ms': config.maxBackoffMs,
  });
  let call: Call | undefined;
  let ready = false;
  let inFlight = 0;
  let pausedUntil = 0;
  let attempt = 0;
  let stopped = false;
  let started = false;
  let maxEntries = outbox.config.maxBatchEntries;
  let maxInFlight = config.maxInFlight;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let pauseTimer: NodeJS.Timeout | undefined;
  let connects = 0, disconnects = 0, batchesSent = 0, entriesSent = 0;
  let lastError = '';
  let wasDown = false;
  const errors: Record<string, number> = {};
  const ackWaiters = new Set<() => void>();
  const countError = (k: string, msg: string): void => { errors[k] = (errors[k] ?? 0) + 1; lastError = msg; };
  const notifyAck = (): void => { for (const w of ackWaiters) w(); };

  const pump = (): void => {
    if (!ready || !call || stopped) return;
    const now = Date.now();
    if (now < pausedUntil) {
      if (!pauseTimer) pauseTimer = setTimeout(() => { pauseTimer = undefined; pump(); }, pausedUntil - now);
      return;
    }
    while (inFlight < maxInFlight) {
      const b = outbox.nextBatch(maxEntries);
      if (!b) break;
      call.write({ kind: { $case: 'batch', value: b } });
      inFlight++;
      batchesSent++;
      entriesSent += b.entries.length;
    }
  };

  const onResponse = (c: Call, r: IngestResponse): void => {
    if (c !== call) return;
    if (!ready) {
      if (r.error) {
        countError(IngestErrorCode[r.error.code] ?? String(r.error.code), r.error.message);
        return;
      }
      ready = true;
      attempt = 0;
      connects++;
      inFlight = 0;
      outbox.onHello(r.bootId === bootId ? r.ackedSeq : 0n);
      if (wasDown) log.info({ address: config.address, acked: String(r.ackedSeq) }, 'ingest stream re-established');
      wasDown = false;
      notifyAck();
      pump();
      return;
    }
    if (inFlight > 0) inFlight--;
    if (r.bootId === bootId) outbox.ack(r.ackedSeq);
    if (r.flow) {
      // the relay's hints (ingest.proto FlowControl): 0 means unchanged
      if (r.flow.maxInFlightBatches > 0) maxInFlight = Math.min(config.maxInFlight, r.flow.maxInFlightBatches);
      if (r.flow.maxBatchEntries > 0) maxEntries = Math.min(maxEntries, r.flow.maxBatchEntries);
      if (r.flow.pauseMs > 0) pausedUntil = Date.now() + r.flow.pauseMs;
    }
    const e = r.error;
    if (e) {
      const code = IngestErrorCode[e.code] ?? String(e.code);
      countError(code, e.message);
      if (e.code === IngestErrorCode.INGEST_ERROR_CODE_TOO_LARGE && maxEntries > 1) {
        maxEntries = Math.max(1, Math.floor(maxEntries / 2));
        outbox.rewind();
      } else if (e.retryable) {
        outbox.rewind();
      } else {
        const n = outbox.reject(e.firstSeq, e.lastSeq);
        log.warn({ code, message: e.message, first: String(e.firstSeq), last: String(e.lastSeq), dropped: n }, 'relay refused a batch; its events are dropped');
      }
    }
    notifyAck();
    pump();
  };

  const onClosed = (c: Call, st: Partial<StatusObject> | undefined): void => {
    if (c !== call) return;
    call = undefined;
    ready = false;
    inFlight = 0;
    disconnects++;
    if (st && st.code !== undefined && st.code !== 0) countError(`grpc_${st.code}`, st.details ?? '');
    if (stopped) return;
    if (!wasDown) log.warn({ address: config.address, code: st?.code, details: st?.details }, 'ingest stream closed; reconnecting');
    wasDown = true;
    const base = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** Math.min(attempt, 20));
    attempt++;
    reconnectTimer = setTimeout(() => { reconnectTimer = undefined; connect(); }, Math.round(base * (0.5 + Math.random() * 0.5)));
  };

  function connect(): void {
    if (stopped) return;
    const c = client.stream();
    call = c;
    ready = false;
    inFlight = 0;
    let closed = false;
    const close = (st: Partial<StatusObject> | undefined): void => { if (!closed) { closed = true; onClosed(c, st); } };
    c.on('data', (r: IngestResponse) => onResponse(c, r));
    c.on('error', (e: Partial<StatusObject>) => close(e));
    c.on('status', (st: StatusObject) => close(st));
    c.on('end', () => close(undefined));
    c.write({
      kind: {
        $case: 'hello',
        value: { nodeId, nodeName: config.nodeName, bootId, agentVersion: config.agentVersion, capabilities: [...config.capabilities], clusterName: config.clusterName },
      },
    });
  }

  return {
    start() {
      if (started) return;
      started = true;
      connect();
    },
    kick() {
      if (!ready || stopped) return;
      if (outbox.pending >= maxEntries) { pump(); return; }
      if (!lingerTimer) lingerTimer = setTimeout(() => { lingerTimer = undefined; pump(); }, config.lingerMs);
    },
    async flush(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      pump();
      while (outbox.pending > 0 && Date.now() < deadline && !stopped) {
        await new Promise<void>((resolve) => {
          const done = (): void => { clearTimeout(t); ackWaiters.delete(done); resolve(); };
          const t = setTimeout(done, Math.max(1, Math.min(100, deadline - Date.now())));
          ackWaiters.add(done);
        });
        pump();
      }
      return outbox.pending === 0;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      for (const t of [reconnectTimer, lingerTimer, pauseTimer]) if (t) clearTimeout(t);
      for (const w of [...ackWaiters]) w();
      const c = call;
      call = undefined;
      ready = false;
      if (c) { c.end(); c.cancel(); }
      client.close();
    },
    get connected() { return ready; },
    stats: () => ({ connected: ready, connects, disconnects, batchesSent, entriesSent, errors: { ...errors }, lastError, inFlight }),
  };
}
