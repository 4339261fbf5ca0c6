// The identity cache's stats as metric samples, named by the house rule
// palisade_<subsystem>_<name>_<unit>_total for counters (cumulative since start) and
// without _total for gauges, labelled by informer resource or unknown reason.
// Pure: reads one stats() snapshot, allocates only the sample list.
import type { IdentityCacheStats } from './api.js';
import { UNKNOWN_REASONS } from './api.js';

export type MetricSample = {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
};

const P = 'palisade_relay_k8s';

export function metricSamples(s: IdentityCacheStats): MetricSample[] {
  const out: MetricSample[] = [];
  const counter = (name: string, value: number, labels: Record<string, string> = {}): void => { out.push({ name: `${P}_${name}_total`, type: 'counter', labels, value }); };
  const gauge = (name: string, value: number, labels: Record<string, string> = {}): void => { out.push({ name: `${P}_${name}`, type: 'gauge', labels, value }); };
  gauge('synced', s.synced ? 1 : 0);
  gauge('containers', s.containers);
  gauge('waiters_pending', s.waiters.pending);
  gauge('removed_retained', s.removedRetained);
  counter('lookup_hits', s.hits);
  counter('lookup_removed_hits', s.removedHits);
  for (const r of UNKNOWN_REASONS) counter('lookup_unknown', s.unknown[r], { reason: r });
  counter('waiters_exceeded', s.waiters.exceeded);
  counter('waiters_timed_out', s.waiters.timedOut);
  counter('removed_dropped', s.removedDropped);
  counter('resyncs', s.resyncs);
  for (const i of s.informers) {
    const l = { resource: i.resource };
    gauge('informer_objects', i.objects, l);
    counter('informer_lists', i.lists, l);
    counter('informer_relists', i.relists, l);
    counter('informer_watch_restarts', i.watchRestarts, l);
    counter('informer_gone', i.gone, l);
    counter('informer_idle_timeouts', i.idleTimeouts, l);
    counter('informer_errors', i.errors, l);
    counter('informer_bookmarks', i.bookmarks, l);
    counter('informer_events', i.events, l);
  }
  return out;
}
