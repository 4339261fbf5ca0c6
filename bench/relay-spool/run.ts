// Relay spool benchmark: ingest throughput (events/s acked) and ack latency of one
// `palisade relay` process (spawned, under tsx) with the spool on (fdatasync per
// group write, a fresh directory under $PALISADE_TEST_TMP) versus off
// (spool.enabled=false: ack after the in-memory hand-off), in the same run,
// alternating, `--runs` rounds each; medians. 20 simulated nodes (real palisade.v1
// Ingest clients in this process) each keep up to 8 batches of 100 alerts in flight
// for `--seconds` after a 1 s warm-up. No log-stream clients (ingest only);
// throttle and collapse off.
// Prints a table and writes bench/results/relay-spool.json.
// Usage: flock /tmp/palisade-bench.lock node --import tsx bench/relay-spool/run.ts [--seconds 5] [--runs 3]
//   (diagnosis: BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" adds node flags to the relay)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, statfsSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, integerOption } from '../bench-args.js';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { Alert } from '../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, IngestResponse } from '../../proto/gen/palisade/v1/ingest.js';

const values = benchArgs(import.meta.url, { options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const SECONDS = integerOption('seconds', values.seconds, 5, 2, 3600);
const RUNS = integerOption('runs', values.runs, 3, 1, 100);
const NODES = 20;
const BATCH = 100;
const IN_FLIGHT = 8;
const root = new URL('../../', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Relay = { child: ChildProcess; ingest: string; exited: Promise<number | null> };

async function startRelay(spoolArgs: string[]): Promise<Relay> {
  const nodeArgs = (process.env['BENCH_RELAY_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''); // diagnosis, e.g. --cpu-prof
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'cli/main.ts', 'relay', '--ingest-listen', '127.0.0.1:0', '--log-stream-listen', '127.0.0.1:0',
    '--throttle-enabled', 'false', '--throttle-collapse-window-ms', '0', '--ingest-max-events-per-sec', '10000000', '--log-level', 'info', ...spoolArgs], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  for (let i = 0; i < 600 && !out.includes('relay serving') && child.exitCode === null; i++) await sleep(50);
  const line = out.split('\n').find((l) => l.includes('relay serving'));
  if (!line) throw new Error(`relay did not start: ${out}`);
  return { child, ingest: `127.0.0.1:${(JSON.parse(line) as { ingestPort: number }).ingestPort}`, exited };
}

class Node {
  readonly client: Client;
  readonly call: ClientDuplexStream<IngestRequest, IngestResponse>;
  sent = 0n;
  acked = 0n;
  readonly sentAt = new Map<bigint, bigint>(); // lastSeq -> hrtime
  readonly latMs: number[] = [];
  measuring = false;
  stopped = false;
  constructor(addr: string, readonly id: string) {
    this.client = new Client(addr, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    this.call = this.client.makeBidiStreamRequest('/palisade.v1.Ingest/Stream', (r: IngestRequest) => Buffer.from(IngestRequest.encode(r).finish()), (b: Buffer) => IngestResponse.decode(b));
    this.call.on('data', (r: IngestResponse) => this.onResponse(r));
    this.call.on('error', () => { this.stopped = true; });
    this.call.write({ kind: { $case: 'hello', value: { nodeId: id, nodeName: id, bootId: `b-${process.pid}-${Date.now()}`, agentVersion: 'bench', capabilities: [], clusterName: 'bench' } } });
  }
  bootId = '';
  onResponse(r: IngestResponse): void {
    if (this.bootId === '') this.bootId = r.bootId;
    if (r.error) throw new Error(`ingest error: ${r.error.message}`);
    if (r.ackedSeq > this.acked) {
      const now = process.hrtime.bigint();
      for (const [last, t] of this.sentAt) {
        if (last > r.ackedSeq) break;
        if (this.measuring) this.latMs.push(Number(now - t) / 1e6);
        this.sentAt.delete(last);
      }
      this.acked = r.ackedSeq;
    }
    this.pump();
  }
  pump(): void {
    while (!this.stopped && this.bootId !== '' && this.sent - this.acked < BigInt(BATCH * IN_FLIGHT)) {
      const first = this.sent + 1n;
      const entries = [];
      for (let i = 0; i < BATCH; i++) {
        const seq = first + BigInt(i);
        entries.push({ seq, event: { $case: 'alert' as const, value: Alert.create({ HostName: this.id, ContainerID: 'c1', Type: 'MatchedPolicy', PolicyName: 'audit-etc', Severity: '3', Operation: 'File', Resource: `/etc/file-${seq}`, Action: 'Audit', Result: 'Passed', Data: 'syscall=SYS_OPENAT flags=O_RDONLY' }) } });
      }
      this.sent += BigInt(BATCH);
      this.sentAt.set(this.sent, process.hrtime.bigint());
      this.call.write({ kind: { $case: 'batch', value: { nodeId: this.id, bootId: this.bootId, firstSeq: first, lastSeq: this.sent, entries } } });
    }
  }
  close(): void {
    this.stopped = true;
    this.call.cancel();
    this.client.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
};

type Round = { eventsPerSec: number; ackP50Ms: number; ackP99Ms: number };

async function round(spoolArgs: string[]): Promise<Round> {
  const relay = await startRelay(spoolArgs);
  const nodes = Array.from({ length: NODES }, (_, i) => new Node(relay.ingest, `node-${i}`));
  try {
    for (let i = 0; i < 200 && nodes.some((n) => n.bootId === ''); i++) await sleep(10);
    for (const n of nodes) n.pump();
    await sleep(1000);
    const a0 = nodes.reduce((s, n) => s + n.acked, 0n);
    const t0 = process.hrtime.bigint();
    for (const n of nodes) n.measuring = true;
    await sleep(SECONDS * 1000);
    const a1 = nodes.reduce((s, n) => s + n.acked, 0n);
    const t1 = process.hrtime.bigint();
    for (const n of nodes) n.measuring = false;
    const lat = nodes.flatMap((n) => n.latMs);
    return { eventsPerSec: Number(a1 - a0) / (Number(t1 - t0) / 1e9), ackP50Ms: pct(lat, 0.5), ackP99Ms: pct(lat, 0.99) };
  } finally {
    for (const n of nodes) n.close();
    relay.child.kill('SIGTERM');
    await relay.exited;
  }
}

const base = process.env['PALISADE_TEST_TMP'] ?? join(tmpdir(), 'palisade-test');
mkdirSync(base, { recursive: true });
const on: Round[] = [];
const off: Round[] = [];
for (let r = 0; r < RUNS; r++) {
  off.push(await round(['--spool-enabled', 'false']));
  const dir = mkdtempSync(join(base, 'bench-relay-spool-'));
  try {
    on.push(await round(['--spool-dir', dir]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write(`round ${r + 1}: off ${off[r]?.eventsPerSec.toFixed(0)} ev/s, on ${on[r]?.eventsPerSec.toFixed(0)} ev/s\n`);
}
const summary = (xs: Round[]): Round & { runsEventsPerSec: number[] } => ({
  eventsPerSec: Math.round(median(xs.map((x) => x.eventsPerSec))),
  ackP50Ms: Number(median(xs.map((x) => x.ackP50Ms)).toFixed(2)),
  ackP99Ms: Number(median(xs.map((x) => x.ackP99Ms)).toFixed(2)),
  runsEventsPerSec: xs.map((x) => Math.round(x.eventsPerSec)),
});
const S = summary(on);
const R = summary(off);
let fsType = '';
try { fsType = `0x${statfsSync(base).type.toString(16)}`; } catch { /* unknown */ }
const result = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', kernel: release(), loadavg: loadavg(), node: process.version, spoolDirBase: base, fsType },
  method: `palisade relay process under tsx, ${NODES} ingest clients in the bench process, each with up to ${IN_FLIGHT} batches of ${BATCH} alerts in flight; ${SECONDS} s measured after 1 s warm-up; no log-stream clients; spool on = fresh spool.dir under ${base}, spool.fsync true (one fdatasync per group write); reference = spool.enabled false in the same run, alternating, ${RUNS} rounds, medians; ack latency = batch send to the ack covering its last seq`,
  spoolOn: S,
  reference: { spoolOff: R },
  ratio: { eventsPerSec: Number((S.eventsPerSec / R.eventsPerSec).toFixed(3)), ackP50: Number((S.ackP50Ms / R.ackP50Ms).toFixed(2)), ackP99: Number((S.ackP99Ms / R.ackP99Ms).toFixed(2)) },
  /** on / off of each round (the two relays of a round ran back to back): the machine's load moves the medians. */
  roundRatiosEventsPerSec: on.map((x, i) => Number((x.eventsPerSec / (off[i] as Round).eventsPerSec).toFixed(3))),
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/relay-spool.json'), JSON.stringify(result, null, 2) + '\n');
console.log('                 events/s acked   ack p50 ms   ack p99 ms');
console.log(`spool on (fsync) ${String(S.eventsPerSec).padStart(14)} ${String(S.ackP50Ms).padStart(12)} ${String(S.ackP99Ms).padStart(12)}`);
console.log(`spool off (ref)  ${String(R.eventsPerSec).padStart(14)} ${String(R.ackP50Ms).padStart(12)} ${String(R.ackP99Ms).padStart(12)}`);
console.log(`ratio            ${String(result.ratio.eventsPerSec).padStart(14)} ${String(result.ratio.ackP50).padStart(12)} ${String(result.ratio.ackP99).padStart(12)}`);
