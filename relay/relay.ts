// The relay process: palisade.v1 Ingest on one gRPC server, and feeder.LogService,
// palisade.v1 Watch and grpc.health.v1 on another, joined by the pipeline
// (enrich -> collapse -> throttle -> hub).
//
// Start-up is ordered and fails fast (a bad TLS file or a busy port rejects
// start()): counters and state, log-stream server (so clients may connect before
// the first event), ingest server, the tick timer. stop() runs the steps in reverse,
// is idempotent and honours its deadline:
//   1. health NOT_SERVING; ingest refuses new batches, finishes the ones in progress,
//      ends every ingest stream with UNAVAILABLE (enforcers keep unacked events and
//      resend them elsewhere), ingest server shut down;
//   2. the pipeline releases what collapse and throttle hold (aggregates, summaries);
//   3. the hub closes: each log-stream client gets what is still queued for it, then
//      its stream ends with OK; at the deadline the server is forced down.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials, status as Status } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { pino, type Logger } from 'pino';
import type { RelayConfig } from './config.js';
import { parseHostPort } from './config.js';
import { createRelayEventFactory } from './event.js';
import { createEnricher } from './enrich/enricher.js';
import type { IdentityLookup } from './enrich/identity.js';
import { createHub, type Hub } from './hub/hub.js';
import { createDedupWindow } from './ingest/dedup-window.js';
import { createIngestServer } from './ingest/ingest-server.js';
import { createCounters, type Counters } from './metrics/counters.js';
import { createPipeline } from './pipeline.js';
import { createLogService, rawLogService } from './serve/log-service.js';
import { statusCounter } from './serve/status-counter.js';
import { createWatchService, rawWatchService } from './serve/watch-service.js';
import { createCollapser } from './throttle/collapse.js';
import { createThrottle } from './throttle/throttle.js';

export type RelayOptions = {
  readonly identity?: IdentityLookup;
  readonly log?: Logger;
  /** Clock for throttle and collapse windows (ms). */
  readonly now?: () => number;
  readonly tickMs?: number;
};

export type RelayAddresses = { readonly ingest: string; readonly logStream: string; readonly ingestPort: number; readonly logStreamPort: number };

export interface Relay {
  start(): Promise<RelayAddresses>;
  stop(deadlineMs?: number): Promise<void>;
  readonly counters: Counters;
  readonly hub: Hub;
  readonly activeIngestStreams: number;
  readonly activeWatchStreams: number;
}

function credentials(c: RelayConfig['tls']): ServerCredentials {
  if (c.certFile === '') return ServerCredentials.createInsecure();
  const ca = c.caFile === '' ? null : readFileSync(c.caFile);
  return ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(c.certFile), private_key: readFileSync(c.keyFile) }], c.requireClientCert);
}

function bind(server: Server, addr: string, creds: ServerCredentials): Promise<number> {
  const hp = parseHostPort(addr);
  const target = hp && hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : addr;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, creds, (err, port) => (err ? reject(new Error(`cannot listen on ${addr}: ${err.message}`)) : resolve(port)));
  });
}

async function shutdown(server: Server, deadline: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, Math.max(0, deadline - Date.now()));
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

export function createRelay(config: RelayConfig, opts: RelayOptions = {}): Relay {
  const log = opts.log ?? pino({ level: config.logLevel }).child({ component: 'relay' });
  const now = opts.now ?? Date.now;
  const counters = createCounters();
  const bootId = randomUUID();
  const host = hostname();
  const factory = createRelayEventFactory(bootId);
  const hub = createHub({ ringSize: config.logStream.replayBuffer, clientQueueSize: config.logStream.clientQueueSize, counters });
  const dedup = createDedupWindow({ window: config.ingest.dedupWindow, onEvict: () => counters.inc('palisade_relay_dedup_evicted_spaces_total') });
  const pipeline = createPipeline({
    enricher: createEnricher(config.kubernetes.mode === 'none' ? undefined : opts.identity, config.kubernetes.identityWaitMs, counters),
    collapser: createCollapser(config.throttle.collapseWindowMs, now),
    throttle: createThrottle(config.throttle, now, factory, counters),
    hub,
    counters,
  });
  const ingest = createIngestServer({ config: config.ingest, clusterName: config.clusterName, dedup, pipeline, counters, log: log.child({ component: 'relay.ingest' }) });
  let watchStreams = 0;
  const admit = (): { code: Status; details: string } | undefined => {
    if (watchStreams >= config.logStream.maxClients) {
      counters.inc('palisade_relay_watch_refused_total', { reason: 'max_clients' });
      return { code: Status.RESOURCE_EXHAUSTED, details: `more than logStream.maxClients (${config.logStream.maxClients}) streams` };
    }
    watchStreams++;
    return undefined;
  };
  const release = (): void => {
    watchStreams--;
  };
  const common = { hub, counters, clusterName: config.clusterName, hostName: host, admit, release, namespacesOf: () => undefined };
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'feeder.LogService': 'NOT_SERVING', 'palisade.v1.Watch': 'NOT_SERVING', 'palisade.v1.Ingest': 'NOT_SERVING' });
  const interceptors = [statusCounter(counters)];
  const logServer = new Server({ interceptors, 'grpc.max_receive_message_length': 64 * 1024 });
  const ingestServer = new Server({ interceptors, 'grpc.max_receive_message_length': config.ingest.maxMessageBytes });
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;

  const setHealth = (s: 'SERVING' | 'NOT_SERVING'): void => {
    for (const svc of ['', 'feeder.LogService', 'palisade.v1.Watch', 'palisade.v1.Ingest']) health.setStatus(svc, s);
  };

  return {
    counters,
    hub,
    get activeIngestStreams() {
      return ingest.activeStreams;
    },
    get activeWatchStreams() {
      return watchStreams;
    },
    async start() {
      const creds = credentials(config.tls);
      logServer.addService(rawLogService, createLogService(common));
      logServer.addService(rawWatchService, createWatchService(common));
      health.addToServer(logServer);
      ingestServer.addService(ingest.service, ingest.implementation);
      const logStreamPort = await bind(logServer, config.logStream.listen, creds);
      let ingestPort: number;
      try {
        ingestPort = await bind(ingestServer, config.ingest.listen, creds);
      } catch (err) {
        logServer.forceShutdown();
        throw err;
      }
      timer = setInterval(() => pipeline.tick(), opts.tickMs ?? 250);
      timer.unref();
      setHealth('SERVING');
      const withPort = (addr: string, port: number): string => addr.replace(/:\d+$/, `:${port}`);
      const addrs = { ingest: withPort(config.ingest.listen, ingestPort), logStream: withPort(config.logStream.listen, logStreamPort), ingestPort, logStreamPort };
      log.info({ ...addrs, tls: config.tls.certFile !== '', mtls: config.tls.requireClientCert, kubernetes: config.kubernetes.mode }, 'relay serving');
      return addrs;
    },
    stop(deadlineMs = config.shutdownDeadlineMs) {
      stopping ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        const ac = new AbortController();
        const t = setTimeout(() => ac.abort(), deadlineMs);
        try {
          setHealth('NOT_SERVING');
          await ingest.drain(ac.signal);
          await shutdown(ingestServer, deadline);
          if (timer) clearInterval(timer);
          pipeline.tick(true);
          hub.close();
          await shutdown(logServer, deadline);
          log.info({ counters: counters.snapshot().length }, 'relay stopped');
        } finally {
          clearTimeout(t);
        }
      })();
      return stopping;
    },
  };
}
