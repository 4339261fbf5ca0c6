// Wraps the palisade.v1 Watch implementation (relay/serve/watch-service.ts) for a
// scale-out replica: a request with resume_after is first checked against the
// Redis Stream (async), then handed to the wrapped handler, whose synchronous
// hub.subscribe() finds the checked cursor. A cursor whose following events were
// trimmed away fails with OUT_OF_RANGE saying so (the client must know it lost
// events); an unknown one with OUT_OF_RANGE too; a Redis error with UNAVAILABLE
// (retryable). Counted in palisade_relay_watch_refused_total{reason}.
import { status as Status, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { WatchRequest } from '../../proto/gen/palisade/v1/watch.js';
import type { Counters } from '../metrics/counters.js';
import type { ReplicatedHub } from './replicated-hub.js';

type Handler = (call: ServerWritableStream<WatchRequest, Buffer>) => void;

/**
 * `refusal`: optional early admission (e.g. relay/access hooks' admit without side
 * effects); when it refuses, the cursor is not looked up, so an unauthenticated
 * caller learns nothing about which cursors exist.
 */
export function withStreamCursors(
  impl: UntypedServiceImplementation,
  hub: ReplicatedHub,
  counters: Counters,
  refusal?: (call: ServerWritableStream<WatchRequest, Buffer>) => { code: Status; details: string } | undefined,
): UntypedServiceImplementation {
  const inner = impl['events'] as unknown as Handler;
  const refuse = (call: ServerWritableStream<WatchRequest, Buffer>, code: Status, reason: string, details: string): void => {
    counters.inc('palisade_relay_watch_refused_total', { reason });
    call.emit('error', { code, details });
  };
  const events: Handler = (call) => {
    const cursor = call.request.resumeAfter;
    if (cursor === '') return inner(call);
    const early = refusal?.(call);
    if (early) {
      counters.inc('palisade_relay_watch_refused_total', { reason: 'access' });
      call.emit('error', early);
      return;
    }
    hub.checkCursor(cursor).then(
      (r) => {
        if (call.cancelled) return;
        if (r.ok) return inner(call);
        if (r.reason === 'trimmed') {
          return refuse(call, Status.OUT_OF_RANGE, 'cursor_trimmed', `resume_after ${JSON.stringify(cursor)}: events after it were trimmed from the shared stream (redis.streamMaxLen); some events are lost to this client — reconnect with from_oldest or without a cursor`);
        }
        return refuse(call, Status.OUT_OF_RANGE, 'cursor', `resume_after ${JSON.stringify(cursor)} is not a known event id of the shared stream; reconnect without it (or with from_oldest)`);
      },
      (err: unknown) => refuse(call, Status.UNAVAILABLE, 'redis', `cannot check resume_after against Redis now (${(err as Error).message}); retry`),
    );
  };
  return { ...impl, events };
}
