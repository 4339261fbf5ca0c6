// A server interceptor that counts every gRPC status a server sends, by method and
// code (palisade_relay_grpc_status_total{method,code}) — including the statuses
// grpc-js sends on its own (RESOURCE_EXHAUSTED for an oversized message, INTERNAL
// for a request that does not deserialize), which never reach a handler. To see
// those it wraps sendStatus on the innermost call object, because grpc-js calls it
// through `this` from its frame decoder.
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Counters } from '../metrics/counters.js';

export function statusCounter(counters: Counters): ServerInterceptor {
  return (method, call) => {
    const send = call.sendStatus.bind(call);
    call.sendStatus = (s) => {
      counters.inc('palisade_relay_grpc_status_total', { method: method.path, code: Status[s.code] ?? String(s.code) });
      send(s);
    };
    return new ServerInterceptingCall(call);
  };
}
