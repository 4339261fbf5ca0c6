// Moves one subscription's entries into one gRPC server stream, never faster than
// the stream accepts: it writes until write() returns false, then waits for
// 'drain'. Meanwhile the hub keeps publishing; if this client falls more than its
// queue capacity behind, the hub skips its oldest events and counts them, and the
// pump writes a drop notice (made by `notice`) before the next event.
//
// Fairness: at most BURST writes per turn of the event loop. End: when the hub is
// closed and the client has caught up, the stream ends with OK; when the client
// goes away the subscription is released. A stalled client (never reads) holds
// only its cursor plus what HTTP/2 flow control lets grpc-js buffer (the objectMode
// high-water mark, 16 messages), and is counted in palisade_relay_stalled_clients.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { HubEntry, Subscription } from '../hub/hub.js';

const BURST = 256;

export type PumpOptions = {
  readonly call: ServerWritableStream<unknown, Buffer>;
  readonly sub: Subscription;
  readonly encode: (e: HubEntry, droppedBefore: number) => Buffer;
  /** In-band drop announcement for this stream's message type, or undefined for none. */
  readonly notice: (dropped: number) => Buffer | undefined;
  readonly onDone: () => void;
};

export interface Pump {
  /** True while the stream refuses writes (flow control). */
  readonly blocked: boolean;
}

export function startPump(o: PumpOptions): Pump {
  let done = false;
  let blocked = false;
  let scheduled = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    o.sub.unsubscribe();
    o.onDone();
  };
  const pump = (): void => {
    scheduled = false;
    if (done) return;
    for (let i = 0; i < BURST; i++) {
      const e = o.sub.next();
      const dropped = o.sub.takeDropped();
      if (dropped > 0) {
        const n = o.notice(dropped);
        if (n) o.call.write(n);
      }
      if (!e) {
        if (o.sub.closed) {
          o.call.end();
          finish();
        }
        return; // the hub wakes us when something new arrives
      }
      if (!o.call.write(o.encode(e, dropped))) {
        blocked = true;
        o.call.once('drain', () => {
          blocked = false;
          pump();
        });
        return;
      }
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  o.sub.onWake(() => {
    if (!blocked && !scheduled) pump();
  });
  o.call.on('cancelled', finish);
  o.call.on('close', finish);
  o.call.on('error', finish);
  pump();
  return {
    get blocked() {
      return blocked;
    },
  };
}
