// palisade.v1 Watch.Events: the hub with server-side filters (watch-filter.ts),
// event ids, cursors and resume. A bad request fails with INVALID_ARGUMENT naming
// the field; an unknown or expired cursor with OUT_OF_RANGE; namespaces outside
// the caller's tenancy with PERMISSION_DENIED. Drops are announced in-band as a
// WatchEvent holding a feeder.Message of Type "Dropped" and, on the next event,
// in dropped_before.
import { status as Status, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { WatchEvent, WatchService, type WatchRequest } from '../../proto/gen/palisade/v1/watch.js';
import { Message } from '../../proto/gen/feeder/kubearmor.js';
import { updatedTime } from '../event.js';
import type { Hub, StartAt } from '../hub/hub.js';
import type { Counters } from '../metrics/counters.js';
import { watchBytes, withDroppedBefore } from './encode.js';
import { DEFAULT_STALL_TIMEOUT_MS, startPump } from './stream-pump.js';
import { grpcOut } from './h2-out.js';
import { compileWatchFilter } from './watch-filter.js';

export const rawWatchService: ServiceDefinition = {
  events: { ...WatchService.events, responseSerialize: (b: Buffer): Buffer => b },
};

export type WatchDeps = {
  readonly hub: Hub;
  readonly counters: Counters;
  readonly clusterName: string;
  readonly hostName: string;
  readonly stallTimeoutMs?: number;
  /** false: grpc-js per-message writes instead of h2-out.ts's batches (default true). */
  readonly directWrites?: boolean;
  readonly admit: (call: ServerWritableStream<WatchRequest, Buffer>) => { code: Status; details: string } | undefined;
  readonly release: () => void;
  readonly namespacesOf: (call: ServerWritableStream<WatchRequest, Buffer>) => ReadonlySet<string> | undefined;
};

export function createWatchService(d: WatchDeps): UntypedServiceImplementation {
  const refuse = (call: ServerWritableStream<WatchRequest, Buffer>, code: Status, reason: string, details: string): void => {
    d.counters.inc('palisade_relay_watch_refused_total', { reason });
    call.emit('error', { code, details });
  };
  return {
    events(call: ServerWritableStream<WatchRequest, Buffer>) {
      const req = call.request;
      const allowed = d.namespacesOf(call);
      if (allowed) {
        const denied = req.namespaces.filter((n) => !allowed.has(n));
        if (denied.length > 0) return refuse(call, Status.PERMISSION_DENIED, 'permission', `namespaces not permitted for this client: ${denied.join(', ')}`);
      }
      const filter = compileWatchFilter(req, allowed);
      if (!filter.ok) return refuse(call, Status.INVALID_ARGUMENT, 'bad_filter', filter.error);
      const refusal = d.admit(call);
      if (refusal) {
        call.emit('error', refusal);
        return;
      }
      const start: StartAt = req.resumeAfter !== '' ? { kind: 'after', cursor: req.resumeAfter } : req.fromOldest ? { kind: 'oldest' } : { kind: 'live' };
      const s = d.hub.subscribe(filter.value, start);
      if (!s.ok) {
        d.release();
        if (s.reason === 'out_of_range') return refuse(call, Status.OUT_OF_RANGE, 'cursor', `resume_after ${JSON.stringify(req.resumeAfter)} is unknown or no longer retained; reconnect without it (or with from_oldest)`);
        return refuse(call, Status.UNAVAILABLE, 'closed', 'relay is shutting down');
      }
      d.counters.inc('palisade_relay_watch_streams_total', { rpc: 'watch' });
      const notice = (dropped: number): Buffer => {
        const now = Date.now();
        return Buffer.from(WatchEvent.encode(WatchEvent.fromPartial({
          event: { $case: 'message', value: Message.create({ Timestamp: BigInt(Math.floor(now / 1000)), UpdatedTime: updatedTime(now), ClusterName: d.clusterName, HostName: d.hostName, Type: 'Dropped', Level: 'Warn', Message: `palisade relay: this client fell behind and lost ${dropped} events (queue full)` }) },
          enriched: true, count: 1, droppedBefore: BigInt(dropped),
        })).finish());
      };
      startPump({ call, sub: s.sub, encode: (e, dropped) => withDroppedBefore(watchBytes(e, d.hub), dropped), notice, onDone: d.release, stallTimeoutMs: d.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, ...(d.directWrites === false ? { out: grpcOut(call as ServerWritableStream<unknown, Buffer>) } : {}), counters: d.counters, rpc: 'watch' });
    },
  };
}
