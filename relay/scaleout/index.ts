// Scale-out over Redis: one factory that connects and returns the parts the relay
// plugs in (see README.md for where each goes). With an empty URL it returns
// undefined and the relay keeps its in-memory defaults.
//
// Start-up: connect() fails fast (PING within connectTimeoutMs) so a relay with a
// wrong Redis URL does not start serving; after that, Redis errors are counted and
// retried by each part, never fatal. stop(): reader first, then the connection.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RelayEventFactory } from '../event.js';
import type { Hub } from '../hub/hub.js';
import type { Counters } from '../metrics/counters.js';
import type { ScaleOutConfig } from './config.js';
import { validateScaleOutConfig } from './config.js';
import { createEventStream, type EventStream } from './event-stream.js';
import { createReplicatedHub, type ReplicatedHub } from './replicated-hub.js';
import { createSharedAcks, type SharedAcks } from './shared-acks.js';
import { createSharedThrottle, type SharedThrottle, type SharedThrottleOptions } from './shared-throttle.js';

export interface ScaleOut {
  readonly redis: Redis;
  readonly stream: EventStream;
  /** The Hub the log-stream servers use (cursors = stream ids); wraps the local hub. */
  readonly hub: ReplicatedHub;
  readonly throttle: SharedThrottle;
  readonly acks: SharedAcks;
  /** Starts the reader that feeds the local hub from the shared stream. */
  start(): void;
  stop(): Promise<void>;
}

export type ScaleOutDeps = {
  readonly localHub: Hub;
  readonly counters: Counters;
  readonly factory: RelayEventFactory;
  readonly throttle: SharedThrottleOptions;
  readonly log?: Logger;
  readonly connectTimeoutMs?: number;
};

export type ScaleOutResult = { ok: true; value: ScaleOut | undefined } | { ok: false; error: string };

export async function connectScaleOut(cfg: ScaleOutConfig, d: ScaleOutDeps): Promise<ScaleOutResult> {
  if (cfg.url === '') return { ok: true, value: undefined };
  const bad = validateScaleOutConfig(cfg);
  if (bad.length > 0) return { ok: false, error: bad.join('; ') };
  const redis = new Redis(cfg.url, {
    lazyConnect: true,
    connectTimeout: d.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest: 2,
    // reconnect forever with a capped delay: a Redis restart must not end the relay
    retryStrategy: (n) => Math.min(100 * 2 ** Math.min(n, 6), 5_000),
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    lastError = err.message;
    d.counters.inc('palisade_relay_scaleout_errors_total', { op: 'connection' });
    d.log?.warn({ err: err.message }, 'scaleout: Redis connection error');
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const safe = cfg.url.replace(/\/\/[^@/]*@/, '//***@');
    return { ok: false, error: `redis.url ${safe}: cannot connect (${lastError || (err as Error).message})` };
  }
  const stream = createEventStream(redis, cfg, d.counters, d.log);
  const hub = createReplicatedHub(d.localHub, stream, d.counters, cfg.readCount);
  let stopped = false;
  return {
    ok: true,
    value: {
      redis, stream, hub,
      throttle: createSharedThrottle(redis, cfg.keyPrefix, d.throttle, d.factory, d.counters),
      acks: createSharedAcks(redis, cfg.keyPrefix, cfg.ackTtlSec),
      start: () => stream.startReader((events) => d.localHub.publish(events)),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stream.stop();
        await redis.quit().catch(() => redis.disconnect());
      },
    },
  };
}
