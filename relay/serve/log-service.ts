// feeder.LogService, as KubeArmor serves it, over the hub:
//   HealthCheck(NonceMessage)  -> ReplyMessage{Retval: nonce}
//   WatchAlerts(Filter "all" | "policy") -> stream Alert   (both: every alert, as KubeArmor)
//   WatchLogs(Filter "all" | "system")   -> stream Log
//   WatchMessages(any Filter)            -> stream Message
// Another Filter value is refused with INVALID_ARGUMENT (KubeArmor ends such a
// stream at once with OK, which hides the mistake).
// Responses are written pre-encoded (encode.ts), so this module declares the same
// service with an identity response serializer. Every stream is a hub subscription
// from "now" with the configured queue; a client that falls behind gets a drop
// notice of its own stream's type: an Alert or Log with Type "SystemEvent" /
// Operation "Dropped", or a Message with Type "Dropped", stating how many events it lost.
import { status as Status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { Alert, Log, LogServiceService, Message, type NonceMessage, type ReplyMessage, type RequestMessage } from '../../proto/gen/feeder/kubearmor.js';
import { updatedTime } from '../event.js';
import { kindOf, type Hub, type HubEntry } from '../hub/hub.js';
import type { Counters } from '../metrics/counters.js';
import { feederBytes } from './encode.js';
import { DEFAULT_STALL_TIMEOUT_MS, startPump } from './stream-pump.js';
import { grpcOut } from './h2-out.js';

export type LogServiceDeps = {
  readonly hub: Hub;
  readonly counters: Counters;
  readonly clusterName: string;
  readonly hostName: string;
  /** See PumpOptions.stallTimeoutMs (relay config logStream.stallTimeoutMs). */
  readonly stallTimeoutMs?: number;
  /** false: grpc-js per-message writes instead of h2-out.ts's batches (default true). */
  readonly directWrites?: boolean;
  /** Admission for a new stream (client limit, tenancy); an error status to refuse it. */
  readonly admit: (call: ServerWritableStream<RequestMessage, Buffer>) => { code: Status; details: string } | undefined;
  readonly release: () => void;
  /** Namespaces this caller may see, or undefined for all. */
  readonly namespacesOf: (call: ServerWritableStream<RequestMessage, Buffer>) => ReadonlySet<string> | undefined;
};

const raw = <K extends keyof typeof LogServiceService>(k: K) => ({ ...LogServiceService[k], responseSerialize: (b: Buffer): Buffer => b });

export const rawLogService: ServiceDefinition = {
  healthCheck: LogServiceService.healthCheck,
  watchMessages: raw('watchMessages'),
  watchAlerts: raw('watchAlerts'),
  watchLogs: raw('watchLogs'),
};

type Kind = 'alert' | 'log' | 'message';

export function createLogService(d: LogServiceDeps): UntypedServiceImplementation {
  const notice = (kind: Kind, dropped: number): Buffer => {
    const now = Date.now();
    const common = { Timestamp: BigInt(Math.floor(now / 1000)), UpdatedTime: updatedTime(now), ClusterName: d.clusterName, HostName: d.hostName };
    const text = `palisade relay: this client fell behind and lost ${dropped} events (queue full)`;
    if (kind === 'alert') return Buffer.from(Alert.encode(Alert.create({ ...common, Type: 'SystemEvent', Operation: 'Dropped', Message: text, Data: `DroppedEvents=${dropped}` })).finish());
    if (kind === 'log') return Buffer.from(Log.encode(Log.create({ ...common, Type: 'SystemEvent', Operation: 'Dropped', Data: `DroppedEvents=${dropped}` })).finish());
    return Buffer.from(Message.encode(Message.create({ ...common, Type: 'Dropped', Level: 'Warn', Message: text })).finish());
  };

  const watch = (kind: Kind, allowed: readonly string[] | undefined) => (call: ServerWritableStream<RequestMessage, Buffer>): void => {
    const filter = call.request.Filter;
    if (allowed && !allowed.includes(filter)) {
      d.counters.inc('palisade_relay_watch_refused_total', { reason: 'bad_filter' });
      call.emit('error', { code: Status.INVALID_ARGUMENT, details: `Filter must be ${allowed.map((a) => `"${a}"`).join(' or ')}, got ${JSON.stringify(filter)}` });
      return;
    }
    const refusal = d.admit(call);
    if (refusal) {
      call.emit('error', refusal);
      return;
    }
    const ns = d.namespacesOf(call);
    const match = (e: HubEntry): boolean => {
      if (kindOf(e) !== kind) return false;
      if (!ns) return true;
      const b = e.ev.body;
      return b.$case !== 'message' && ns.has(b.value.NamespaceName);
    };
    const s = d.hub.subscribe(match, { kind: 'live' });
    if (!s.ok) {
      d.release();
      call.emit('error', { code: Status.UNAVAILABLE, details: 'relay is shutting down' });
      return;
    }
    d.counters.inc('palisade_relay_watch_streams_total', { rpc: kind });
    startPump({ call, sub: s.sub, encode: (e) => feederBytes(e), notice: (n) => notice(kind, n), onDone: d.release, stallTimeoutMs: d.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, ...(d.directWrites === false ? { out: grpcOut(call as ServerWritableStream<unknown, Buffer>) } : {}), counters: d.counters, rpc: kind });
  };

  return {
    healthCheck(call: ServerUnaryCall<NonceMessage, ReplyMessage>, cb: sendUnaryData<ReplyMessage>) {
      cb(null, { Retval: call.request.nonce });
    },
    watchAlerts: watch('alert', ['all', 'policy']),
    watchLogs: watch('log', ['all', 'system']),
    watchMessages: watch('message', undefined),
  };
}
