// The relay's event path after ingest: enrich -> collapse -> throttle -> hub.
//
// submit() returns once every event of the batch has been handed to the hub (or
// is held by the collapser/throttle, which live in the same process memory and
// release or summarise everything they hold on tick(force)): at once (undefined)
// when enrichment needed no lookup, else through the promise it returns. Ingest
// acks only after that. Batches of one stream are submitted in order; batches of
// different streams interleave only between awaits (enrichment).
//
// tick() runs on a timer (and with force at shutdown): it releases collapsed
// repeats whose window closed and throttle summaries whose interval ended.
import type { RelayEvent } from './event.js';
import type { Enricher } from './enrich/enricher.js';
import type { Collapser } from './throttle/collapse.js';
import type { Throttle } from './throttle/throttle.js';
import type { Hub } from './hub/hub.js';
import type { Counters } from './metrics/counters.js';

export interface Pipeline {
  /** undefined: handed to the hub already; a promise: resolves when it is. */
  submit(events: readonly RelayEvent[]): Promise<void> | undefined;
  tick(force?: boolean): void;
}

export type PipelineParts = {
  readonly enricher: Enricher;
  readonly collapser: Collapser;
  readonly throttle: Throttle;
  readonly hub: Hub;
  readonly counters: Counters;
};

export function createPipeline(p: PipelineParts): Pipeline {
  const shaped = (events: readonly RelayEvent[]): RelayEvent[] => {
    const collapsed: RelayEvent[] = [];
    for (const ev of events) p.collapser.push(ev, collapsed);
    const out: RelayEvent[] = [];
    for (const ev of collapsed) p.throttle.push(ev, out);
    return out;
  };
  return {
    submit(events) {
      if (events.length === 0) return undefined;
      const publish = (): void => {
        const out = shaped(events);
        p.hub.publish(out);
        p.counters.inc('palisade_relay_published_events_total', {}, out.length);
      };
      // known containers: decoded, enriched and published in one synchronous step, so a
      // batch's decoded events die young even when many batches are handed on at once
      const wait = p.enricher.enrich(events);
      if (wait === undefined) return void publish();
      return wait.then(publish);
    },
    tick(force = false) {
      const released: RelayEvent[] = [];
      p.collapser.tick(released, force);
      const out: RelayEvent[] = [];
      for (const ev of released) p.throttle.push(ev, out);
      p.throttle.tick(out, force);
      if (out.length > 0) {
        p.hub.publish(out);
        p.counters.inc('palisade_relay_published_events_total', {}, out.length);
      }
    },
  };
}
