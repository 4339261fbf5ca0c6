// A real relay (createRelay: its hub and feeder.LogService server on loopback) fed by
// relay/upstream through a pipeline built from the relay's own parts
// (enrich -> collapse -> throttle -> hub). createRelay() does not expose its
// pipeline yet (see relay/upstream/README.md for the wiring), so the pipeline here is
// composed over the relay's hub and counters exactly as createRelay composes its own.
// Collapse and throttle are off so that every distinct agent event reaches clients.
import { pino } from 'pino';
import { createRelayEventFactory, type RelayEvent } from '../../../relay/event.js';
import { createEnricher } from '../../../relay/enrich/enricher.js';
import type { HubEntry } from '../../../relay/hub/hub.js';
import { createPipeline, type Pipeline } from '../../../relay/pipeline.js';
import type { Relay } from '../../../relay/relay.js';
import { createCollapser } from '../../../relay/throttle/collapse.js';
import { createThrottle } from '../../../relay/throttle/throttle.js';
import { createUpstreams, defaultUpstreamConfig, type EventSink, type PodSource, type UpstreamConfig, type Upstreams } from '../../../relay/upstream/index.js';
import { startRelay } from '../relay/support.js';

export type Rig = {
  readonly relay: Relay;
  readonly logStream: string;
  readonly pipeline: Pipeline;
  readonly upstreams: Upstreams;
  /** Every event the hub published, in order (what clients are served from). */
  readonly published: RelayEvent[];
  close(): Promise<void>;
};

export function upstreamConfig(over: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return { ...defaultUpstreamConfig(), backoffInitialMs: 20, backoffMaxMs: 200, healthCheckTimeoutMs: 2_000, healthCheckIntervalMs: 200, ...over };
}

export async function startRig(cfg: UpstreamConfig, pods?: PodSource, wrapSink: (p: Pipeline) => EventSink = (p) => p): Promise<Rig> {
  const { relay, addrs } = await startRelay({ clusterName: 'test-cluster', throttle: { enabled: false, collapseWindowMs: 0 } });
  const pipeline = createPipeline({
    enricher: createEnricher(undefined, 0, relay.counters),
    collapser: createCollapser(0, Date.now),
    throttle: createThrottle({ enabled: false, maxAlertsPerSec: 10, throttleSec: 30 }, Date.now, createRelayEventFactory('test'), relay.counters),
    hub: relay.hub,
    counters: relay.counters,
  });
  const published: RelayEvent[] = [];
  const sub = relay.hub.subscribe(() => true, { kind: 'live' }, 1_000_000);
  if (!sub.ok) throw new Error('cannot subscribe to the relay hub');
  const drain = (): void => {
    for (let e: HubEntry | undefined = sub.sub.next(); e !== undefined; e = sub.sub.next()) published.push(e.ev);
  };
  sub.sub.onWake(drain);
  drain(); // arms the wake-up (it fires only after next() returned undefined)
  const upstreams = createUpstreams(cfg, { sink: wrapSink(pipeline), counters: relay.counters, clusterName: 'test-cluster', log: pino({ level: 'silent' }), ...(pods ? { pods } : {}) });
  upstreams.start();
  return {
    relay, logStream: addrs.logStream, pipeline, upstreams, published,
    close: async () => {
      await upstreams.stop(5_000);
      sub.sub.unsubscribe();
      await relay.stop(5_000);
    },
  };
}
