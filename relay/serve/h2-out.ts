// The outgoing side of one server-streaming call, for the stream pump.
//
// grpc-js (1.14) writes every response message as its own http2 stream write
// (its own DATA frame, its own trip into nghttp2), which caps one stream at a few
// thousand messages/s on these machines. directOut() instead writes a whole burst
// of gRPC length-prefixed messages (1 byte compressed flag = 0, 4 bytes big-endian
// length, the message) as ONE write on the call's http2 ServerHttp2Stream. Headers
// and the final status still go through grpc-js (sendMetadata before the first
// write; call.end() -> trailers after the last), so the wire is the same gRPC
// response a grpc-js server sends; only the framing of DATA differs.
//
// grpc-js keeps the http2 stream in its innermost call object
// (ServerWritableStreamImpl.call -> ServerInterceptingCall.nextCall ... ->
// BaseServerInterceptingCall.stream). That is not public API: http2StreamOf() walks
// it defensively (bounded, duck-typed) and returns undefined when the shape differs,
// and grpcOut() is then used — the same batch interface over call.write(), slower
// but correct. test/unit/relay/h2-out.test.ts fails if the direct path stops being
// found, so a grpc-js upgrade that moves it is noticed.
//
// Cut-off: reset() ends the stream with RST_STREAM ENHANCE_YOUR_CALM, which gRPC
// clients (grpc-js, grpc-go) report as RESOURCE_EXHAUSTED. It is meant for a stream
// that flow control keeps blocked: trailers cannot overtake the DATA queued
// before them, so a status in trailers would never arrive.
import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import { Metadata, status as Status, type ServerWritableStream } from '@grpc/grpc-js';

export interface StreamOut {
  /** True when the messages go straight to the http2 stream (one write per batch). */
  readonly direct: boolean;
  /** Writes messages (unframed protobuf bytes) in order; false: the stream is full, wait for onDrain. */
  writeBatch(msgs: readonly Buffer[]): boolean;
  /** Called once, the next time a full stream can take writes again. */
  onceDrain(fn: () => void): void;
  /** Ends the stream with status OK (trailers after everything written). */
  end(): void;
  /** Cuts the stream off at once (RST_STREAM ENHANCE_YOUR_CALM -> client sees RESOURCE_EXHAUSTED). */
  reset(): void;
  /** Called once when the stream closes, fails or is cancelled by the client. */
  onClose(fn: () => void): void;
}

type Http2Like = ServerHttp2Stream;

/** Bytes a direct stream may hold queued (beyond what flow control let out) before the pump waits. */
export const MAX_BUFFERED = 128 * 1024;

function isHttp2Stream(x: unknown): x is Http2Like {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return typeof s['respond'] === 'function' && typeof s['sendTrailers'] === 'function' && typeof s['close'] === 'function'
    && typeof s['write'] === 'function' && typeof s['once'] === 'function' && 'headersSent' in s && 'session' in s;
}

/** The http2 stream under a grpc-js server call, or undefined (see the header). */
export function http2StreamOf(call: object): Http2Like | undefined {
  let c: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 16 && typeof c === 'object' && c !== null; depth++) {
    const o = c as { stream?: unknown; nextCall?: unknown };
    if (isHttp2Stream(o.stream)) return o.stream;
    c = o.nextCall;
  }
  return undefined;
}

/** One buffer holding every message with its 5-byte gRPC prefix. */
export function frameBatch(msgs: readonly Buffer[]): Buffer {
  let total = 0;
  for (const m of msgs) total += 5 + m.length;
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const m of msgs) {
    out[o] = 0;
    out.writeUInt32BE(m.length, o + 1);
    m.copy(out, o + 5);
    o += 5 + m.length;
  }
  return out;
}

function onceClosed(call: ServerWritableStream<unknown, Buffer>, extra: Http2Like | undefined, fn: () => void): void {
  let fired = false;
  const once = (): void => {
    if (fired) return;
    fired = true;
    fn();
  };
  call.on('cancelled', once);
  call.on('close', once);
  call.on('error', once);
  if (extra) {
    extra.once('close', once);
    extra.on('error', once); // a failed write must never become an uncaught 'error'
  }
}

/** Writes through grpc-js, one call.write per message. */
export function grpcOut(call: ServerWritableStream<unknown, Buffer>): StreamOut {
  return {
    direct: false,
    writeBatch(msgs) {
      let ok = true;
      for (const m of msgs) ok = call.write(m);
      return ok;
    },
    onceDrain: (fn) => void call.once('drain', fn),
    end: () => void call.end(),
    reset() {
      // Without the http2 stream there is no reset: the status waits behind the queued data.
      const s = http2StreamOf(call);
      if (s && !s.destroyed) s.close(h2.NGHTTP2_ENHANCE_YOUR_CALM);
      else call.emit('error', { code: Status.RESOURCE_EXHAUSTED, details: 'client stopped reading (stream stalled by flow control)' });
    },
    onClose: (fn) => onceClosed(call, undefined, fn),
  };
}

/** Direct http2 framing when the stream is reachable and its headers went out; else grpcOut(). */
export function streamOut(call: ServerWritableStream<unknown, Buffer>): StreamOut {
  const s = http2StreamOf(call);
  if (!s || s.destroyed) return grpcOut(call);
  if (!s.headersSent) call.sendMetadata(new Metadata());
  if (!s.headersSent) return grpcOut(call); // an interceptor delays headers: keep grpc-js in charge
  return {
    direct: true,
    writeBatch(msgs) {
      if (msgs.length === 0) return s.writableLength < s.writableHighWaterMark;
      if (s.destroyed || s.writableEnded) return true; // closing: onClose ends the pump
      // write() says false past the stream's 16 KiB high-water mark; keeping up to
      // MAX_BUFFERED queued lets nghttp2 send on at once when a WINDOW_UPDATE arrives,
      // instead of waiting for this process to refill after 'drain' (which Writable
      // emits once the buffer is empty, because a write returned false).
      s.write(frameBatch(msgs));
      return s.writableLength < MAX_BUFFERED;
    },
    onceDrain: (fn) => void s.once('drain', fn),
    end: () => void call.end(),
    reset() {
      if (!s.destroyed) s.close(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    },
    onClose: (fn) => onceClosed(call, s, fn),
  };
}
