// Enrichment: fills Kubernetes identity (namespace, pod, labels, owner, container
// name, image) into container events, in batches: one lookup per distinct container
// per batch, all in parallel, each bounded by `waitMs`.
//
// An event whose container stays unknown is delivered anyway, visibly: its
// `enriched` flag is false (palisade.v1 Watch shows it), alerts carry the tag
// UNENRICHED_TAG in Tags/ATags (feeder clients see it), and
// palisade_relay_unenriched_events_total{reason} counts it. Host events (no
// ContainerID) and relay messages need no identity and count as enriched.
// With no lookup (Kubernetes mode none) events pass through unchanged.
import type { Alert, Log } from '../../proto/gen/feeder/kubearmor.js';
import type { Counters } from '../metrics/counters.js';
import type { RelayEvent } from '../event.js';
import { formatLabels, type IdentityLookup, type IdentityResult, type PodIdentity } from './identity.js';

export const UNENRICHED_TAG = 'palisade:identity-unknown';

export interface Enricher {
  /**
   * Enriches in place. Returns undefined when it is done already (every container
   * known now, or no lookup), so that a caller can decode, enrich and publish a
   * batch in one synchronous step; a promise when some container needs a lookup.
   */
  enrich(events: readonly RelayEvent[]): Promise<void> | undefined;
}

function apply(target: Alert | Log, id: PodIdentity): void {
  target.NamespaceName = id.namespace;
  target.PodName = id.podName;
  target.Labels = id.labelString ?? formatLabels(id.labels);
  target.ContainerName = id.containerName;
  if (id.image !== '') target.ContainerImage = id.image;
  target.Owner = id.owner ? { Ref: id.owner.ref, Name: id.owner.name, Namespace: id.owner.namespace } : target.Owner;
}

function markUnknown(ev: RelayEvent): void {
  ev.enriched = false;
  if (ev.body.$case !== 'alert') return;
  ev.wire = undefined; // Tags and ATags change below
  const a = ev.body.value;
  if (!a.ATags.includes(UNENRICHED_TAG)) a.ATags.push(UNENRICHED_TAG);
  a.Tags = a.Tags === '' ? UNENRICHED_TAG : `${a.Tags},${UNENRICHED_TAG}`;
}

export function createEnricher(lookup: IdentityLookup | undefined, waitMs: number, counters: Counters): Enricher {
  return {
    enrich(events) {
      if (!lookup) return undefined;
      // Fast path: containers known now are applied at once (no promise); the rest are
      // resolved in parallel, one lookup per distinct container of the batch.
      let pending: Map<string, Promise<IdentityResult>> | undefined;
      /** peek answers of this batch (a node's events alternate between its containers) */
      const known = new Map<string, PodIdentity | undefined>();
      let lastCid = '';
      let lastId: PodIdentity | undefined;
      for (const ev of events) {
        if (ev.body.$case === 'message') continue;
        const cid = ev.body.value.ContainerID;
        if (cid === '') continue;
        if (cid !== lastCid) {
          lastCid = cid;
          if (known.has(cid)) lastId = known.get(cid);
          else {
            lastId = lookup.peek?.(cid);
            known.set(cid, lastId);
          }
        }
        if (lastId !== undefined) apply(ev.body.value, lastId);
        else {
          pending ??= new Map();
          if (!pending.has(cid)) pending.set(cid, lookup.resolve(cid, { waitMs }));
        }
      }
      if (pending === undefined) return undefined;
      return resolvePending(events, pending, counters);
    },
  };
}

/** The slow path: waits (bounded) for the containers the fast path did not know. */
async function resolvePending(events: readonly RelayEvent[], pending: ReadonlyMap<string, Promise<IdentityResult>>, counters: Counters): Promise<void> {
  const results = new Map<string, IdentityResult>();
  await Promise.all([...pending].map(async ([cid, p]) => {
    try {
      results.set(cid, await p);
    } catch (err) {
      // resolve() must not reject; if it does, the event still goes out, unenriched and counted
      results.set(cid, { known: false, reason: `lookup_error:${(err as Error).name}` });
    }
  }));
  for (const ev of events) {
    if (ev.body.$case === 'message') continue;
    const cid = ev.body.value.ContainerID;
    const r = cid === '' ? undefined : results.get(cid);
    if (r === undefined) continue; // host event, or enriched on the fast path
    if (r.known) apply(ev.body.value, r.identity);
    else {
      markUnknown(ev);
      counters.inc('palisade_relay_unenriched_events_total', { reason: r.reason });
    }
  }
}
