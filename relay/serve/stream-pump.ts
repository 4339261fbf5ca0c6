// Moves one subscription's entries into one gRPC server stream, never faster than
// the stream accepts. Entries are written in batches (h2-out.ts: one http2 write per
// batch of up to BATCH_MESSAGES messages / BATCH_BYTES bytes); when a write reports
// the stream full, the pump waits for 'drain'. Meanwhile the hub keeps publishing;
// if this client falls more than its queue capacity behind, the hub skips its
// oldest events and counts them, and the pump writes a drop notice (made by
// `notice`) before the next event.
//
// Fairness: at most WRITES_PER_TURN batches per turn of the event loop, then the
// pump yields (setImmediate). End: when the hub is closed and the client has
// caught up, the stream ends with OK; when the client goes away the subscription
// is released.
//
// Stalled clients: a stream that stays full (flow control: the client reads
// nothing) for `stallTimeoutMs` without a single 'drain' is cut off (reset ->
// RESOURCE_EXHAUSTED at the client), counted in
// palisade_relay_watch_stalled_cut_total{rpc}, and its subscription released.
// Until then it holds its cursor, about h2-out.ts's MAX_BUFFERED plus one batch of
// written bytes, and what the client's HTTP/2 window let through.
// A stream served through grpc-js's per-message writes (h2-out.ts could not reach
// the http2 stream) is counted in palisade_relay_watch_fallback_streams_total{rpc}.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { HubEntry, Subscription } from '../hub/hub.js';
import type { Counters } from '../metrics/counters.js';
import { streamOut, type StreamOut } from './h2-out.js';

const BATCH_MESSAGES = 512;
const BATCH_BYTES = 32 * 1024;
const WRITES_PER_TURN = 8;
/** relay config logStream.stallTimeoutMs's default. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export type PumpOptions = {
  readonly call: ServerWritableStream<unknown, Buffer>;
  readonly sub: Subscription;
  readonly encode: (e: HubEntry, droppedBefore: number) => Buffer;
  /** In-band drop announcement for this stream's message type, or undefined for none. */
  readonly notice: (dropped: number) => Buffer | undefined;
  readonly onDone: () => void;
  readonly stallTimeoutMs: number;
  readonly counters: Counters;
  /** Label for the stall counter (alert, log, message, watch). */
  readonly rpc: string;
  /** The stream's output; default streamOut(call). */
  readonly out?: StreamOut;
};

export interface Pump {
  /** True while the stream refuses writes (flow control). */
  readonly blocked: boolean;
  /** True when messages bypass grpc-js's per-message writes (h2-out.ts). */
  readonly direct: boolean;
}

export function startPump(o: PumpOptions): Pump {
  const out = o.out ?? streamOut(o.call);
  if (!out.direct) o.counters.inc('palisade_relay_watch_fallback_streams_total', { rpc: o.rpc });
  let done = false;
  let blocked = false;
  let blockedSince = 0;
  let stallTimer: NodeJS.Timeout | undefined;
  let scheduled = false;
  const batch: Buffer[] = [];

  const finish = (): void => {
    if (done) return;
    done = true;
    if (stallTimer) clearTimeout(stallTimer);
    o.sub.unsubscribe();
    o.onDone();
  };
  const checkStall = (): void => {
    stallTimer = undefined;
    if (done || !blocked) return;
    const left = blockedSince + o.stallTimeoutMs - Date.now();
    if (left > 0) {
      stallTimer = setTimeout(checkStall, left);
      stallTimer.unref();
      return;
    }
    o.counters.inc('palisade_relay_watch_stalled_cut_total', { rpc: o.rpc });
    out.reset();
    finish();
  };
  const onDrain = (): void => {
    blocked = false;
    pump();
  };
  /** Fills `batch`; returns 'end' when the hub closed and everything was taken. */
  const fill = (): 'more' | 'caught_up' | 'end' => {
    let bytes = 0;
    while (batch.length < BATCH_MESSAGES && bytes < BATCH_BYTES) {
      const e = o.sub.next();
      const dropped = o.sub.takeDropped();
      if (dropped > 0) {
        const n = o.notice(dropped);
        if (n) {
          batch.push(n);
          bytes += n.length;
        }
      }
      if (!e) return o.sub.closed ? 'end' : 'caught_up';
      const b = o.encode(e, dropped);
      batch.push(b);
      bytes += b.length;
    }
    return 'more';
  };
  const pump = (): void => {
    scheduled = false;
    if (done || blocked) return;
    for (let w = 0; w < WRITES_PER_TURN; w++) {
      const state = fill();
      const ok = batch.length > 0 ? out.writeBatch(batch) : true;
      batch.length = 0;
      if (state === 'end') {
        out.end();
        finish();
        return;
      }
      if (!ok) {
        blocked = true;
        blockedSince = Date.now();
        if (!stallTimer) {
          stallTimer = setTimeout(checkStall, o.stallTimeoutMs);
          stallTimer.unref();
        }
        out.onceDrain(onDrain);
        return;
      }
      if (state === 'caught_up') return; // the hub wakes us when something new arrives
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  o.sub.onWake(() => {
    if (!blocked && !scheduled) pump();
  });
  out.onClose(finish);
  pump();
  return {
    get blocked() {
      return blocked;
    },
    direct: out.direct,
  };
}
