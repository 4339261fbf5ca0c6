// The relay's event path for a scale-out replica, implementing relay/pipeline.ts's
// Pipeline so the relay can use it instead of createPipeline() when Redis is
// configured:
//   cross-replica dedup -> enrich -> collapse -> shared throttle -> Redis Stream
//   -> raise the (node, boot) published mark
// and the stream reader (index.ts start()) publishes every replica's events to the
// local hub. submit() resolves only when the batch's events are in Redis (or held
// by the collapser, as in the in-memory pipeline), so an ingest ack means "in the
// shared stream"; if Redis fails, submit() rejects and ingest does not ack (the
// enforcer keeps the events and resends). Retransmits that another replica already
// accepted are dropped and counted (palisade_relay_scaleout_duplicate_events_total).
//
// tick() is synchronous in the Pipeline interface: it starts the release of
// collapsed repeats and throttle summaries and chains the Redis work behind any
// previous tick; flush() awaits that chain (call it at shutdown after tick(true)).
// Errors of a tick are counted (palisade_relay_scaleout_errors_total{op="tick"}),
// and what that tick released is lost (counted in
// palisade_relay_scaleout_lost_events_total{reason="tick"}).
import type { RelayEvent } from '../event.js';
import type { Enricher } from '../enrich/enricher.js';
import type { Counters } from '../metrics/counters.js';
import type { Collapser } from '../throttle/collapse.js';
import type { EventStream } from './event-stream.js';
import type { SharedAcks } from './shared-acks.js';
import type { SharedThrottle } from './shared-throttle.js';

export interface ScaleOutPipeline {
  submit(events: readonly RelayEvent[]): Promise<void>;
  tick(force?: boolean): void;
  flush(): Promise<void>;
}

export type ScaleOutPipelineParts = {
  readonly enricher: Enricher;
  readonly collapser: Collapser;
  readonly throttle: SharedThrottle;
  readonly stream: EventStream;
  readonly acks: SharedAcks;
  readonly counters: Counters;
  readonly now: () => number;
};

export function createScaleOutPipeline(p: ScaleOutPipelineParts): ScaleOutPipeline {
  let chain: Promise<void> = Promise.resolve();

  type Space = { nodeId: string; bootId: string; seq: bigint };
  const spaces = (events: readonly RelayEvent[]): Map<string, Space> => {
    const last = new Map<string, Space>();
    for (const ev of events) {
      const k = `${ev.nodeId}\u0000${ev.bootId}`;
      const cur = last.get(k);
      if (!cur || ev.seq > cur.seq) last.set(k, { nodeId: ev.nodeId, bootId: ev.bootId, seq: ev.seq });
    }
    return last;
  };

  /** Drops what another replica already published (one GET per (node, boot) in the batch, usually one). */
  async function fresh(events: readonly RelayEvent[], last: Map<string, Space>): Promise<RelayEvent[]> {
    const before = new Map<string, bigint>();
    await Promise.all([...last].map(async ([k, v]) => before.set(k, await p.acks.accepted(v.nodeId, v.bootId))));
    const out = events.filter((ev) => ev.seq > (before.get(`${ev.nodeId}\u0000${ev.bootId}`) ?? 0n));
    if (out.length < events.length) p.counters.inc('palisade_relay_scaleout_duplicate_events_total', {}, events.length - out.length);
    return out;
  }

  async function publish(events: RelayEvent[]): Promise<void> {
    if (events.length === 0) return;
    const shaped = await p.throttle.apply(events, p.now());
    await p.stream.append(shaped);
    p.counters.inc('palisade_relay_published_events_total', {}, shaped.length);
  }

  return {
    async submit(events) {
      if (events.length === 0) return;
      const last = spaces(events);
      const mine = await fresh(events, last);
      if (mine.length > 0) {
        await p.enricher.enrich(mine);
        const collapsed: RelayEvent[] = [];
        for (const ev of mine) p.collapser.push(ev, collapsed);
        await publish(collapsed);
      }
      await Promise.all([...last.values()].map((v) => p.acks.markAccepted(v.nodeId, v.bootId, v.seq)));
    },
    tick(force = false) {
      const released: RelayEvent[] = [];
      p.collapser.tick(released, force);
      chain = chain.then(async () => {
        try {
          await publish(released);
          const summaries = await p.throttle.tick(p.now());
          if (summaries.length > 0) {
            await p.stream.append(summaries);
            p.counters.inc('palisade_relay_published_events_total', {}, summaries.length);
          }
        } catch {
          p.counters.inc('palisade_relay_scaleout_errors_total', { op: 'tick' });
          p.counters.inc('palisade_relay_scaleout_lost_events_total', { reason: 'tick' }, released.length);
        }
      });
    },
    flush: () => chain,
  };
}
