// Log-stream clients for bench/relay/run.ts, in their own process so that decoding
// on the client side does not compete with the simulated nodes for one event loop.
// Each client is a real grpc-js client of feeder.LogService/WatchAlerts (its own
// HTTP/2 connection); it reads only what the bench needs from the Alert bytes —
// field 19 (Operation, to recognise drop notices), field 21 (Data, which holds
// the send time) and whether fields 5 (NamespaceName) and 6 (PodName) are non-empty
// (the relay's enrichment) — and skips every other field by wire type, instead of
// building a full Alert object per message.
// Usage: node bench/relay/sinks.ts <port> <clients> [window bytes] [channel|stub]   (compiled, or with --import tsx)
// stdin commands, one per line: "lat" (start recording latency), "count" (one JSON line
// {got: number[], enriched: number[], dropped}: cheap, for polling), "raw" (like report, with
// every latency sample instead of percentiles), "report" (prints one
// JSON line: {got: number[], enriched: number[], dropped, p50, p99, samples, eldP99ms, eldMaxms}), "exit".
// BENCH_TRACE=1: at exit, prints on stderr the worst latency per 100 ms of the recorded
// window ("trace [[slot, ms], ...]", slot = monotonic time / 100 ms mod 10,000).
// eldP99ms/eldMaxms: this process's event-loop delay since "lat" (monitorEventLoopDelay,
// 10 ms resolution, minus the resolution): how far the clients themselves lag.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Channel, Client, credentials, Metadata } from '@grpc/grpc-js';
import { RequestMessage } from '../../proto/gen/feeder/kubearmor.js';

/** What a client keeps of an Alert: a drop notice's count, or the send time in ns. */
type Slim = { readonly droppedEvents: number; readonly sentNs: number; readonly enriched: boolean };

let p = 0;
function varint(b: Buffer): number {
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const c = b[p++] as number;
    x += (c & 0x7f) * mul;
    if (c < 0x80) return x;
    mul *= 128;
  }
  throw new Error('bad varint');
}

const DROPPED = Buffer.from('Dropped');

/**
 * From an encoded feeder.Alert: Operation (field 19) compared with "Dropped" as
 * bytes, and Data (field 21): "t=<ns>" parsed as a number (exact below 2^53 ns,
 * 104 days of uptime), or "DroppedEvents=<n>" for a drop notice.
 */
export function slimAlert(b: Buffer): Slim {
  p = 0;
  let dropNotice = false;
  let dataAt = -1;
  let dataLen = 0;
  let ns = false;
  let pod = false;
  while (p < b.length) {
    const tag = varint(b);
    const wt = tag & 7;
    if (wt === 0) varint(b);
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const len = varint(b);
      const f = tag >>> 3;
      if (f === 19) dropNotice = len === DROPPED.length && b.compare(DROPPED, 0, len, p, p + len) === 0;
      else if (f === 5) ns = len > 0; // NamespaceName
      else if (f === 6) pod = len > 0; // PodName
      else if (f === 21) {
        dataAt = p;
        dataLen = len;
      }
      p += len;
    } else throw new Error(`wire type ${wt}`);
  }
  if (dropNotice) return { droppedEvents: Number(/DroppedEvents=(\d+)/.exec(b.toString('latin1', dataAt, dataAt + dataLen))?.[1] ?? 0), sentNs: 0, enriched: false };
  let t = 0;
  for (let i = dataAt + 2; i < dataAt + dataLen; i++) t = t * 10 + ((b[i] as number) - 48);
  return { droppedEvents: 0, sentNs: t, enriched: ns && pod };
}

const [port, n, window] = process.argv.slice(2, 5).map(Number) as [number, number, number?];
/** 'stub': Client.makeServerStreamRequest (a Readable per call); 'channel': Channel.createCall. */
const API = process.argv[5] === 'stub' ? 'stub' : 'channel';
/** HTTP/2 receive window per stream and connection (0: grpc-js's default, 64 KiB). */
const WINDOW = window ?? 0;
const got: number[] = new Array<number>(n).fill(0);
/** Alerts received per client with NamespaceName and PodName both non-empty (enriched by the relay). */
const enriched: number[] = new Array<number>(n).fill(0);
let dropped = 0;
let recording = false;
const lat: number[] = [];
const TRACE = process.env['BENCH_TRACE'] === '1';
const trace = new Map<number, number>();
process.on('exit', () => { if (TRACE) process.stderr.write(`trace ${JSON.stringify([...trace].map(([k, v]) => [k % 10000, Math.round(v)]))}\n`); });
const onAlert = (i: number, a: Slim): void => {
  if (a.droppedEvents > 0) {
    dropped += a.droppedEvents;
    return;
  }
  got[i] = (got[i] as number) + 1;
  if (a.enriched) enriched[i] = (enriched[i] as number) + 1;
  if (recording) {
    const now = Number(process.hrtime.bigint());
    const l = (now - a.sentNs) / 1e6;
    lat.push(l);
    if (TRACE) {
      const slot = Math.floor(now / 1e8);
      trace.set(slot, Math.max(trace.get(slot) ?? 0, l));
    }
  }
};
const options = { 'grpc.use_local_subchannel_pool': 1, ...(WINDOW > 0 ? { 'grpc-node.flow_control_window': WINDOW } : {}) };
const request = (): Buffer => Buffer.from(RequestMessage.encode(RequestMessage.create({ Filter: 'all' })).finish());
const closers = Array.from({ length: n }, (_, i): (() => void) => {
  if (API === 'stub') {
    const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), options);
    const call = c.makeServerStreamRequest<RequestMessage, Slim>('/feeder.LogService/WatchAlerts', (r) => Buffer.from(RequestMessage.encode(r).finish()), slimAlert, RequestMessage.create({ Filter: 'all' }));
    call.on('data', (a: Slim) => onAlert(i, a));
    call.on('error', () => undefined);
    return () => c.close();
  }
  // grpc-js's Channel/Call API (what its interceptors use): messages arrive as bytes,
  // one startRead() per message, no Readable stream or interceptor chain per message.
  const ch = new Channel(`127.0.0.1:${port}`, credentials.createInsecure(), options);
  const call = ch.createCall('/feeder.LogService/WatchAlerts', Infinity, undefined, null, null);
  call.start(new Metadata(), {
    onReceiveMetadata: () => undefined,
    onReceiveMessage: (m: Buffer) => {
      onAlert(i, slimAlert(m));
      call.startRead();
    },
    onReceiveStatus: () => undefined,
  });
  call.sendMessageWithContext({}, request());
  call.halfClose();
  call.startRead();
  return () => ch.close();
});
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return -1;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const late = (ns: number): number => Math.max(0, ns / 1e6 - 10);
createInterface({ input: process.stdin }).on('line', (cmd) => {
  if (cmd === 'lat') {
    recording = true;
    eld.reset();
  } else if (cmd === 'count') process.stdout.write(JSON.stringify({ got, enriched, dropped }) + '\n');
  else if (cmd === 'raw') {
    const eldP99ms = late(eld.percentile(99)); // before serialising the samples, which blocks this loop
    const eldMaxms = late(eld.max);
    process.stdout.write(JSON.stringify({ got, enriched, dropped, lat, eldP99ms, eldMaxms }) + '\n');
  }
  else if (cmd === 'report') {
    const eldP99ms = late(eld.percentile(99)); // before sorting the samples, which blocks this loop
    const eldMaxms = late(eld.max);
    process.stdout.write(JSON.stringify({ got, enriched, dropped, p50: pct(lat, 50), p99: pct(lat, 99), samples: lat.length, eldP99ms, eldMaxms }) + '\n');
  }
  else if (cmd === 'exit') {
    for (const close of closers) close();
    process.exit(0);
  }
});
process.stdout.write('ready\n');
