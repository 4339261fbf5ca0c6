// Wraps palisade.v1 Watch (relay/serve/watch-service.ts) so that a resume_after
// cursor issued by an earlier relay process on the same spool is mapped onto the
// replayed hub (cursor-map.ts) before the wrapped handler subscribes. Cursors of this
// process, and cursors that cannot be mapped, pass unchanged (the hub decides:
// OUT_OF_RANGE when unknown or expired).
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { WatchRequest } from '../../proto/gen/palisade/v1/watch.js';
import type { CursorMap } from './cursor-map.js';

type Handler = (call: ServerWritableStream<WatchRequest, Buffer>) => void;

export function withSpoolCursors(impl: UntypedServiceImplementation, map: CursorMap): UntypedServiceImplementation {
  const inner = impl['events'] as unknown as Handler;
  const events: Handler = (call) => {
    const req = call.request;
    if (req.resumeAfter !== '') req.resumeAfter = map.translate(req.resumeAfter);
    inner(call);
  };
  return { ...impl, events };
}
