// One KubeArmor agent, pulled as KubeArmor's own relay does: HealthCheck with a
// random nonce (the reply must echo it), then WatchAlerts, WatchLogs and
// WatchMessages on one channel; every received message becomes a relay event
// (convert.ts) and goes through the hand-off queue to the pipeline (handoff.ts).
//
// A session ends when any stream ends or fails, a periodic HealthCheck fails or
// times out (a dead peer sends no FIN; this is what notices it), or on stop(). Then
// every call is cancelled, the channel closed, and after a jittered back-off
// (backoff.ts: doubling from backoffInitialMs, capped at backoffMaxMs, reset after a
// session that lasted STABLE_MS) a new session starts with a new channel and a new
// bootId. Events the agent emitted between two sessions are not seen (feeder
// streams start "now"; there is no cursor to resume from).
//
// Counted per upstream (label upstream=<address>): connects, failures{reason},
// received events{kind}, delivered, dropped{reason}, hand-off retries. Never throws
// after start(); stop() is idempotent and bounded by its signal.
import { randomInt } from 'node:crypto';
import { Metadata, status as Status, type ChannelCredentials, type ClientReadableStream, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { LogServiceClient, type Alert, type Log, type Message } from '../../proto/gen/feeder/kubearmor.js';
import type { Counters } from '../metrics/counters.js';
import { backoffDelay, sleep } from './backoff.js';
import type { UpstreamConfig } from './config.js';
import { createEventStamper, type EventStamper, type UpstreamKind } from './convert.js';
import { createHandoff, type EventSink, type Handoff } from './handoff.js';

/** A session shorter than this does not reset the back-off (an agent that accepts and drops at once is not hammered). */
export const STABLE_MS = 10_000;

export type UpstreamTarget = {
  /** "host:port" dialled; the identity of the upstream (one connection per address). */
  readonly address: string;
  /** nodeId of its events: the agent pod's node name when discovered, else the address. */
  readonly nodeId: string;
  /** Filled into events with an empty HostName ('' = none). */
  readonly hostName: string;
  readonly source: 'static' | 'discovered';
  /** "namespace/name" of the agent pod (discovered only). */
  readonly pod?: string;
};

export type UpstreamState = 'connecting' | 'streaming' | 'backoff' | 'stopped';

export type UpstreamStats = {
  readonly address: string;
  readonly nodeId: string;
  readonly source: 'static' | 'discovered';
  readonly pod: string | undefined;
  readonly state: UpstreamState;
  /** Sessions established (HealthCheck answered with our nonce). */
  readonly connects: number;
  /** Sessions or attempts that ended other than by stop(). */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** bootId of the current (or last) session. */
  readonly bootId: string | undefined;
  readonly received: Readonly<Record<UpstreamKind, number>>;
  readonly delivered: number;
  readonly dropped: number;
  readonly pending: number;
  readonly paused: boolean;
};

export type ConnectionDeps = {
  readonly config: UpstreamConfig;
  readonly credentials: ChannelCredentials;
  readonly sink: EventSink;
  readonly counters: Counters;
  readonly log: Logger;
  readonly clusterName: string;
};

export interface UpstreamConnection {
  readonly target: UpstreamTarget;
  start(): void;
  stop(signal: AbortSignal): Promise<void>;
  stats(): UpstreamStats;
}

type SessionEnd = { readonly established: boolean; readonly reason: string; readonly message: string };
/** What the session needs of a stream it opened: flow control and cancellation. */
type OpenCall = { pause(): unknown; resume(): unknown; cancel(): void };

const codeName = (code: number): string => (Status[code] ?? String(code)).toLowerCase();

export function createUpstreamConnection(target: UpstreamTarget, d: ConnectionDeps): UpstreamConnection {
  const c = d.config;
  const labels = { upstream: target.address };
  const log = d.log.child({ upstream: target.address, nodeId: target.nodeId, ...(target.pod ? { pod: target.pod } : {}) });
  const stopCtl = new AbortController();
  const received: Record<UpstreamKind, number> = { alert: 0, log: 0, message: 0 };
  const reported: Record<UpstreamKind, number> = { alert: 0, log: 0, message: 0 };
  let state: UpstreamState = 'connecting';
  let connects = 0;
  let failures = 0;
  let delivered = 0;
  let dropped = 0;
  let lastError: string | undefined;
  let stamper: EventStamper | undefined;
  let calls: OpenCall[] = [];
  let running: Promise<void> | undefined;

  const syncReceived = (): void => {
    for (const k of ['alert', 'log', 'message'] as const) {
      d.counters.inc('palisade_relay_upstream_received_events_total', { ...labels, kind: k }, received[k] - reported[k]);
      reported[k] = received[k];
    }
  };

  const handoff: Handoff = createHandoff({
    sink: d.sink,
    maxBatch: c.maxBatch,
    maxPending: c.maxPendingEvents,
    retries: c.handoffRetries,
    backoffInitialMs: c.backoffInitialMs,
    backoffMaxMs: c.backoffMaxMs,
    onPause: () => {
      d.counters.inc('palisade_relay_upstream_paused_total', labels);
      for (const call of calls) call.pause();
    },
    onResume: () => {
      for (const call of calls) call.resume();
    },
    onDelivered: (n) => {
      delivered += n;
      syncReceived();
      d.counters.inc('palisade_relay_upstream_delivered_events_total', labels, n);
    },
    onDropped: (reason, n) => {
      dropped += n;
      syncReceived();
      d.counters.inc('palisade_relay_upstream_dropped_events_total', { ...labels, reason }, n);
    },
    onRetry: () => d.counters.inc('palisade_relay_upstream_handoff_retries_total', labels),
    log,
  });

  const healthCheck = (client: LogServiceClient, track: (u: ClientUnaryCall | undefined) => void): Promise<{ ok: true } | { ok: false; reason: string; message: string }> =>
    new Promise((resolve) => {
      const nonce = randomInt(1, 2 ** 31 - 1);
      const call = client.healthCheck({ nonce }, new Metadata(), { deadline: Date.now() + c.healthCheckTimeoutMs }, (err: ServiceError | null, res) => {
        track(undefined);
        if (err) resolve({ ok: false, reason: `health_check_${codeName(err.code)}`, message: `HealthCheck: ${err.details || err.message}` });
        else if (res.Retval !== nonce) resolve({ ok: false, reason: 'nonce_mismatch', message: `HealthCheck answered ${res.Retval} to nonce ${nonce}` });
        else resolve({ ok: true });
      });
      track(call);
    });

  const session = async (): Promise<SessionEnd> => {
    const client = new LogServiceClient(target.address, d.credentials, {
      'grpc.max_receive_message_length': c.maxReceiveMessageBytes,
      // one channel per session: closing it closes the connection, a new session dials afresh
      'grpc.use_local_subchannel_pool': 1,
    });
    let unary: ClientUnaryCall | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finish: ((e: SessionEnd) => void) | undefined;
    const onStop = (): void => {
      unary?.cancel();
      finish?.({ established: true, reason: 'stopped', message: 'stopped' });
    };
    stopCtl.signal.addEventListener('abort', onStop, { once: true });
    try {
      if (stopCtl.signal.aborted) return { established: false, reason: 'stopped', message: 'stopped' };
      const hc = await healthCheck(client, (u) => { unary = u; });
      if (stopCtl.signal.aborted) return { established: false, reason: 'stopped', message: 'stopped' };
      if (!hc.ok) return { established: false, reason: hc.reason, message: hc.message };
      const s = createEventStamper({ nodeId: target.nodeId, clusterName: d.clusterName, hostName: target.hostName });
      stamper = s;
      connects++;
      d.counters.inc('palisade_relay_upstream_connects_total', labels);
      state = 'streaming';
      log.info({ bootId: s.bootId, connects }, 'upstream connected');
      const ended = new Promise<SessionEnd>((resolve) => {
        let done = false;
        finish = (e) => {
          if (done) return;
          done = true;
          resolve(e);
        };
      });
      const end = finish as (e: SessionEnd) => void;
      const watch = <T extends Alert | Log | Message>(kind: UpstreamKind, call: ClientReadableStream<T>, stamp: (m: T) => ReturnType<EventStamper['alert']>): void => {
        call.on('data', (m: T) => {
          received[kind]++;
          handoff.push(stamp(m));
        });
        call.on('error', (err: ServiceError) => end({ established: true, reason: `${kind}_stream_${codeName(err.code)}`, message: `${kind} stream: ${err.details || err.message}` }));
        call.on('end', () => end({ established: true, reason: `${kind}_stream_ended`, message: `the agent ended the ${kind} stream` }));
        if (handoff.paused) call.pause();
        calls.push(call);
      };
      if (c.alerts) watch('alert', client.watchAlerts({ Filter: c.alertFilter }), s.alert);
      if (c.logs) watch('log', client.watchLogs({ Filter: c.logFilter }), s.log);
      if (c.messages) watch('message', client.watchMessages({ Filter: 'all' }), s.message);
      if (c.healthCheckIntervalMs > 0) {
        let inFlight = false;
        timer = setInterval(() => {
          if (inFlight) return;
          inFlight = true;
          void healthCheck(client, (u) => { unary = u; }).then((r) => {
            inFlight = false;
            if (!r.ok) end({ established: true, reason: r.reason, message: r.message });
          });
        }, c.healthCheckIntervalMs);
        timer.unref();
      }
      if (stopCtl.signal.aborted) end({ established: true, reason: 'stopped', message: 'stopped' });
      return await ended;
    } finally {
      stopCtl.signal.removeEventListener('abort', onStop);
      if (timer) clearInterval(timer);
      unary?.cancel();
      for (const call of calls) call.cancel();
      calls = [];
      client.close();
    }
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    let consecutive = 0;
    while (!stopCtl.signal.aborted) {
      state = 'connecting';
      const started = Date.now();
      const r = await session();
      if (stopCtl.signal.aborted) break;
      failures++;
      consecutive = r.established ? 1 : consecutive + 1;
      lastError = r.message;
      d.counters.inc('palisade_relay_upstream_failures_total', { ...labels, reason: r.reason });
      // one warning per outage, not one per retry
      if (consecutive === 1) log.warn({ reason: r.reason, error: r.message }, 'upstream session ended; reconnecting');
      else log.debug({ reason: r.reason, error: r.message, consecutive }, 'upstream still unreachable');
      if (r.established && Date.now() - started >= STABLE_MS) attempt = 0;
      state = 'backoff';
      d.counters.inc('palisade_relay_upstream_reconnects_total', labels);
      await sleep(backoffDelay(attempt++, c.backoffInitialMs, c.backoffMaxMs), stopCtl.signal);
    }
    state = 'stopped';
  };

  return {
    target,
    start() {
      running ??= run();
    },
    async stop(signal) {
      stopCtl.abort();
      if (running) await running;
      state = 'stopped';
      await handoff.drain(signal);
      syncReceived();
    },
    stats() {
      return {
        address: target.address, nodeId: target.nodeId, source: target.source, pod: target.pod, state,
        connects, failures, lastError, bootId: stamper?.bootId,
        received: { ...received }, delivered, dropped, pending: handoff.pending, paused: handoff.paused,
      };
    },
  };
}
