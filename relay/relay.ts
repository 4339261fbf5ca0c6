// The relay process: palisade.v1 Ingest on one gRPC server, and feeder.LogService,
// palisade.v1 Watch and grpc.health.v1 on another, joined by the pipeline
// (enrich -> collapse -> throttle -> hub).
//
// Optional parts, each off in the embedded default: Kubernetes identity (relay/k8s,
// kubernetes.mode), TLS/mTLS (relay/tls), tenancy (relay/access, access.file),
// scale-out over Redis (relay/scaleout, redis.url) and pulling from KubeArmor agents
// (relay/upstream, upstream.addresses / upstream.discovery).
//
// The spool (relay/spool, spool.enabled with a spool.dir, no Redis): ingest acks a
// batch only once its record is on disk; at start-up the spool is recovered, dedup
// rebuilt from it and its newest events replayed into the hub (watch cursors of the
// previous process map onto them: relay/spool/cursor-map.ts). With Redis the Redis
// Stream is the durable hand-off instead and the spool is not used.
//
// Start-up is ordered and fails fast (a bad TLS or access file, an unreachable
// Redis, missing Kubernetes credentials, a spool directory in use or a busy port
// rejects start()): TLS and access files, Kubernetes informers, spool recovery and
// replay, Redis, log-stream server (so clients may connect before the first event),
// ingest server, the tick timer. stop() runs the steps in reverse,
// is idempotent and honours its deadline:
//   1. health NOT_SERVING; ingest refuses new batches, finishes the ones in progress,
//      ends every ingest stream with UNAVAILABLE (enforcers keep unacked events and
//      resend them elsewhere), ingest server shut down; the spool finishes its
//      writes and closes; upstream pulls stop;
//   2. the pipeline releases what collapse and throttle hold (aggregates, summaries);
//   3. with Redis: the scale-out pipeline flushes, the reader and connection stop;
//   4. the hub closes: each log-stream client gets what is still queued for it, then
//      its stream ends with OK; at the deadline the server is forced down;
//   5. the Kubernetes informers stop.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Server, type ServerCredentials, type ServerWritableStream, status as Status } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { pino, type Logger } from 'pino';
import type { RelayConfig } from './config.js';
import { parseHostPort } from './config.js';
import { createRelayEventFactory } from './event.js';
import { createEnricher, type Enricher } from './enrich/enricher.js';
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
import { loadServerCredentials } from './tls/credentials.js';
import { createAccess } from './access/access.js';
import { defaultAccessConfig, loadAccessConfig } from './access/config.js';
import { createAccessHooks } from './access/hooks.js';
import type { IdentityCache } from './k8s/index.js';
import type { ScaleOut } from './scaleout/index.js';
import type { ScaleOutPipeline } from './scaleout/pipeline.js';
import type { Pipeline } from './pipeline.js';
import type { Upstreams } from './upstream/index.js';
import { upstreamConfigOf } from './upstream/config.js';
import { spoolOn } from './spool/config.js';
import type { Spool } from './spool/spool.js';
import type { IngestSpool } from './ingest/ingest-server.js';
import type { HubEntry } from './hub/hub.js';
import type { CursorMap } from './spool/cursor-map.js';

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
  // compact entries unless scale-out, which keys stream ids by the published event objects
  const hub = createHub({ ringSize: config.logStream.replayBuffer, clientQueueSize: config.logStream.clientQueueSize, counters, compact: config.redis.url === '', maxBytes: config.logStream.replayBufferBytes, minWakeIntervalMs: config.logStream.flushIntervalMs });
  const dedup = createDedupWindow({ window: config.ingest.dedupWindow, onEvict: () => counters.inc('palisade_relay_dedup_evicted_spaces_total') });
  const enricherFor = (lookup: IdentityLookup | undefined): Enricher => createEnricher(lookup, config.kubernetes.identityWaitMs, counters);
  const collapser = createCollapser(config.throttle.collapseWindowMs, now);
  // With informers, the lookup is set in start(), before anything is served.
  let current = enricherFor(config.kubernetes.mode === 'none' ? undefined : opts.identity);
  const enricher: Enricher = { enrich: (events) => current.enrich(events) };
  const memPipeline = createPipeline({ enricher, collapser, throttle: createThrottle(config.throttle, now, factory, counters), hub, counters });
  let pipeline: Pipeline = memPipeline;
  let soPipeline: ScaleOutPipeline | undefined;
  const pipelineProxy: Pipeline = { submit: (evs) => pipeline.submit(evs), tick: (force) => pipeline.tick(force) };
  const useSpool = spoolOn(config.spool) && config.redis.url === '';
  let spool: Spool | undefined; // opened in prepare(), before ingest serves
  const ingestSpool: IngestSpool = {
    append: (b) => (spool ? spool.append(b) : Promise.resolve({ ok: false, reason: 'closed', message: 'spool not open' })),
    published: (lsn) => spool?.published(lsn, hub.head),
  };
  const ingest = createIngestServer({ config: config.ingest, clusterName: config.clusterName, dedup, pipeline: pipelineProxy, counters, log: log.child({ component: 'relay.ingest' }), ...(useSpool ? { spool: ingestSpool } : {}) });
  let cursorMap: CursorMap | undefined;
  let expireTimer: NodeJS.Timeout | undefined;
  let watchStreams = 0;
  const limit = (): { code: Status; details: string } | undefined => {
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
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'feeder.LogService': 'NOT_SERVING', 'palisade.v1.Watch': 'NOT_SERVING', 'palisade.v1.Ingest': 'NOT_SERVING' });
  const interceptors = [statusCounter(counters)];
  const logServer = new Server({ interceptors, 'grpc.max_receive_message_length': 64 * 1024 });
  const ingestServer = new Server({ interceptors, 'grpc.max_receive_message_length': config.ingest.maxMessageBytes });
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let cache: IdentityCache | undefined;
  let scaleOut: ScaleOut | undefined;
  let upstreams: Upstreams | undefined;

  const setHealth = (s: 'SERVING' | 'NOT_SERVING'): void => {
    for (const svc of ['', 'feeder.LogService', 'palisade.v1.Watch', 'palisade.v1.Ingest']) health.setStatus(svc, s);
  };

  /** Steps before serving: files, informers, Redis. Throws with a message naming the setting. */
  async function prepare(): Promise<{ creds: ServerCredentials; mode: string }> {
    const tls = loadServerCredentials(config.tls);
    if (!tls.ok) throw new Error(tls.error);
    const ac = config.access.file === '' ? { ok: true as const, value: defaultAccessConfig() } : loadAccessConfig(config.access.file);
    if (!ac.ok) throw new Error(ac.problems.join('\n'));
    type AnyCall = ServerWritableStream<unknown, Buffer>;
    const hooks = createAccessHooks<AnyCall>(createAccess(ac.value, counters), limit);
    if (config.kubernetes.mode !== 'none' && !opts.identity) {
      const { createIdentityCache, defaultConfig: defaultK8sConfig } = await import('./k8s/index.js');
      const { identityLookupOf } = await import('./k8s/enrich-adapter.js');
      cache = createIdentityCache({ ...defaultK8sConfig(), mode: config.kubernetes.mode, kubeconfigPath: config.kubernetes.kubeconfig || undefined }, { logger: log.child({ component: 'relay.k8s' }) });
      const synced = await cache.start();
      if (!synced.synced) log.warn('kubernetes informers not synced yet; early events may be sent unenriched');
      current = enricherFor(identityLookupOf(cache));
    }
    if (useSpool) await openAndReplay();
    else if (spoolOn(config.spool)) log.info({ dir: config.spool.dir }, 'spool not used: with Redis the shared stream is the durable hand-off');
    let streamHub: Hub = hub;
    if (config.redis.url !== '') {
      const { connectScaleOut } = await import('./scaleout/index.js');
      const { defaultScaleOutConfig } = await import('./scaleout/config.js');
      const { createScaleOutPipeline } = await import('./scaleout/pipeline.js');
      const so = await connectScaleOut({ ...defaultScaleOutConfig(), ...config.redis, replicaName: host }, { localHub: hub, counters, factory, throttle: config.throttle, log: log.child({ component: 'relay.scaleout' }) });
      if (!so.ok) throw new Error(so.error);
      scaleOut = so.value;
      if (scaleOut) {
        soPipeline = createScaleOutPipeline({ enricher, collapser, throttle: scaleOut.throttle, stream: scaleOut.stream, acks: scaleOut.acks, counters, now });
        pipeline = soPipeline;
        streamHub = scaleOut.hub;
      }
    }
    // after identity and scale-out, so upstream events enter the final pipeline
    const uc = upstreamConfigOf(config.upstream);
    if (uc.addresses.length > 0 || uc.discovery.enabled) {
      const { createUpstreams } = await import('./upstream/index.js');
      upstreams = createUpstreams(uc, { sink: pipelineProxy, counters, clusterName: config.clusterName, ...(cache ? { pods: cache } : {}), log: log.child({ component: 'relay.upstream' }) });
    }
    const common = { hub: streamHub, counters, clusterName: config.clusterName, hostName: host, stallTimeoutMs: config.logStream.stallTimeoutMs, directWrites: config.logStream.directWrites, admit: hooks.admit, release, namespacesOf: hooks.namespacesOf };
    logServer.addService(rawLogService, createLogService(common));
    const watch = createWatchService(common);
    const withStreamCursors = scaleOut ? (await import('./scaleout/watch-resume.js')).withStreamCursors : undefined;
    const withSpoolCursors = cursorMap ? (await import('./spool/watch-resume.js')).withSpoolCursors : undefined;
    logServer.addService(rawWatchService, scaleOut && withStreamCursors ? withStreamCursors(watch, scaleOut.hub, counters, (call) => {
      const a = hooks.authorization(call as AnyCall);
      return a.ok ? undefined : a.error;
    }) : cursorMap && withSpoolCursors ? withSpoolCursors(watch, cursorMap) : watch);
    health.addToServer(logServer);
    ingestServer.addService(ingest.service, ingest.implementation);
    scaleOut?.start();
    return { creds: tls.value.credentials, mode: tls.value.mode };
  }

  /** Opens the spool, rebuilds dedup from it and replays its newest events into the hub (in LSN order). */
  async function openAndReplay(): Promise<void> {
    const { openSpool } = await import('./spool/spool.js');
    const { planReplay } = await import('./spool/replay.js');
    const { createCursorMap } = await import('./spool/cursor-map.js');
    const epoch = /^([0-9a-f]+):/.exec(hub.cursorOf({ cursor: 0 } as HubEntry))?.[1] ?? '';
    const opened = await openSpool(config.spool, {
      counters, log: log.child({ component: 'relay.spool' }), hubEpoch: epoch,
      // count bound only: a byte-bound eviction makes the hub hold less, so this keeps segments longer, never shorter
      hubOldest: () => Math.max(1, hub.head - config.logStream.replayBuffer + 1),
      // what the hub could hold by bytes (received bytes ~ feeder encoding), at least 64 MiB
      keepRawBytes: Math.max(config.logStream.replayBufferBytes, 64 * 1024 * 1024),
    });
    if (!opened.ok) throw new Error(opened.error);
    spool = opened.spool;
    const rec = opened.recovery;
    const plan = planReplay(rec.records, dedup, config.logStream.replayBuffer);
    counters.inc('palisade_relay_spool_corrupt_records_total', { kind: 'undecodable' }, plan.undecodable);
    let dedupOnlyMax = 0n;
    for (const lsn of plan.dedupOnly) {
      spool.published(lsn, 0);
      if (lsn > dedupOnlyMax) dedupOnlyMax = lsn;
    }
    const points: Array<{ lsn: bigint; headBefore: number }> = [];
    let replayed = 0;
    const CHUNK = 5_000; // one enrichment wait (kubernetes.identityWaitMs) per chunk at most
    for (let i = 0; i < plan.replay.length;) {
      const chunk = [];
      for (let n = 0; i < plan.replay.length && n < CHUNK; i++) {
        const r = plan.replay[i] as (typeof plan.replay)[number];
        chunk.push(r);
        n += r.events.length;
      }
      await enricher.enrich(chunk.flatMap((r) => r.events));
      for (const r of chunk) {
        points.push({ lsn: r.lsn, headBefore: hub.head });
        hub.publish(r.events); // as acked, enriched; not collapsed or throttled again
        spool.published(r.lsn, hub.head);
        replayed += r.events.length;
      }
    }
    counters.inc('palisade_relay_spool_replayed_events_total', {}, replayed);
    cursorMap = createCursorMap(rec.marks, points, hub.head, dedupOnlyMax, epoch);
    const sp = spool;
    expireTimer = setInterval(() => void sp.expire().catch((err: unknown) => log.warn({ err }, 'spool retention failed')), 60_000);
    expireTimer.unref();
    log.info({ dir: config.spool.dir, records: rec.records.length, replayed, corrupt: rec.corrupt, torn: rec.torn, undecodable: plan.undecodable }, 'spool replayed');
  }

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
      let prepared: { creds: ServerCredentials; mode: string };
      try {
        prepared = await prepare();
      } catch (err) {
        await scaleOut?.stop().catch(() => undefined);
        await cache?.close();
        if (expireTimer) clearInterval(expireTimer);
        await spool?.close().catch(() => undefined);
        throw err;
      }
      const creds = prepared.creds;
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
      upstreams?.start();
      setHealth('SERVING');
      const withPort = (addr: string, port: number): string => addr.replace(/:\d+$/, `:${port}`);
      const addrs = { ingest: withPort(config.ingest.listen, ingestPort), logStream: withPort(config.logStream.listen, logStreamPort), ingestPort, logStreamPort };
      log.info({ ...addrs, tls: prepared.mode, kubernetes: config.kubernetes.mode, redis: scaleOut !== undefined, access: config.access.file !== '' }, 'relay serving');
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
          if (expireTimer) clearInterval(expireTimer);
          await spool?.close().catch((err: unknown) => log.warn({ err }, 'spool close failed'));
          await upstreams?.stop(Math.max(0, deadline - Date.now()));
          if (timer) clearInterval(timer);
          pipeline.tick(true);
          if (soPipeline) await soPipeline.flush().catch((err: unknown) => log.warn({ err }, 'scale-out flush failed'));
          if (scaleOut) await scaleOut.stop().catch((err: unknown) => log.warn({ err }, 'scale-out stop failed'));
          hub.close();
          await shutdown(logServer, deadline);
          await cache?.close();
          log.info({ counters: counters.snapshot().length }, 'relay stopped');
        } finally {
          clearTimeout(t);
        }
      })();
      return stopping;
    },
  };
}
