// Log-stream clients for bench/relay/run.ts, in their own process so that decoding
// on the client side does not compete with the simulated nodes for one event loop.
// Usage: node --import tsx bench/relay/sinks.ts <port> <clients>
// stdin commands, one per line: "lat" (start recording latency), "report" (prints one
// JSON line: {got: number[], dropped, p50, p99, samples}), "exit".
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { LogServiceClient, type Alert } from '../../proto/gen/feeder/kubearmor.js';

const [port, n] = process.argv.slice(2).map(Number) as [number, number];
const got: number[] = new Array<number>(n).fill(0);
let dropped = 0;
let recording = false;
const lat: number[] = [];
const clients = Array.from({ length: n }, (_, i) => {
  const c = new LogServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = c.watchAlerts({ Filter: 'all' });
  call.on('data', (a: Alert) => {
    if (a.Operation === 'Dropped') {
      dropped += Number(/DroppedEvents=(\d+)/.exec(a.Data)?.[1] ?? 0);
      return;
    }
    got[i] = (got[i] as number) + 1;
    if (recording) lat.push(Number(process.hrtime.bigint() - BigInt(a.Data.slice(2))) / 1e6);
  });
  call.on('error', () => undefined);
  return c;
});
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return -1;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
createInterface({ input: process.stdin }).on('line', (cmd) => {
  if (cmd === 'lat') recording = true;
  else if (cmd === 'report') process.stdout.write(JSON.stringify({ got, dropped, p50: pct(lat, 50), p99: pct(lat, 99), samples: lat.length }) + '\n');
  else if (cmd === 'exit') {
    for (const c of clients) c.close();
    process.exit(0);
  }
});
process.stdout.write('ready\n');
