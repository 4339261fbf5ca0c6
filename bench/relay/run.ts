// Relay benchmark: one relay process (`palisade relay`, spawned), 50 simulated nodes
// (real palisade.v1 Ingest clients) and 5 log-stream clients (feeder WatchAlerts, real
// grpc-js clients in child processes, 2 by default, bench/relay/sinks.ts), all over loopback.
// Throttle and collapse are off (every event must reach every client).
// Enrichment (default; --kubernetes none turns it off): the relay runs with
// --kubernetes-mode kubeconfig against the Kubernetes API test server
// (test/support/k8s-api-server.ts), started in this process (it costs nothing once the
// informers have listed: nothing changes, the watches stay idle) and populated with 50
// Nodes x one Deployment -> ReplicaSet -> 10 running pods each (5 namespaces); every
// node's alerts carry its pods' container ids in turn, so every alert is looked up. The
// clients count alerts with NamespaceName and PodName non-empty: enrichedFraction per
// phase (the smallest share over the clients) must be 1.
//   throughput: every node keeps up to 4 batches of 200 events in flight for
//     --seconds; events/s acked by ingest and events/s delivered per client.
//   latency: 50 nodes x 400 (or 40) events/s = 20k (2k) events/s offered for
//     --seconds, kept by the clock (a node sends what it owes when it is due, every
//     50 ms, nodes out of phase); the send time (process.hrtime, the same monotonic
//     clock in both processes) travels in Alert.Data; p50/p99 end-to-end latency over
//     delivered events, ingest ack latency at the nodes, and drops. After the window
//     the runner waits (bounded) until every client has every event sent and reports
//     what is missing (clientMissingEventsMax) besides the announced drops.
//   reference (same run): the latency phases again with logStream.directWrites=false,
//     i.e. grpc-js writing every message itself (the relay before relay/serve/h2-out.ts).
//   RSS: peak (VmHWM, and VmRSS sampled every 250 ms) of the relay process; CPU: the
//     share of a core used by the relay, the clients' process and this process.
// The relay and the clients run compiled (bench/relay/tsconfig.json -> dist/, built
// first by this runner), not under tsx; --tsx runs both under tsx instead.
// Prints a table and writes bench/results/relay.json (--spool on: relay-spool-on.json, whose
// reference is the same relay without its spool, rounds interleaved).
// Usage: node --import tsx bench/relay/run.ts [--seconds 8] [--runs 3] [--tsx] [--client-window bytes]
//          [--client-impl go|node (default go: bench/relay/gosink, grpc-go clients as karmor uses; node: bench/relay/sinks.ts, grpc-js)]
//          [--client-api channel|stub (node clients)] [--clients 5] [--client-procs N (processes the clients are spread over; default 1 for go, 2 for node)]
//          [--spool off|on (the relay's ingest spool; on: a fresh directory per relay under $PALISADE_TEST_TMP)]
//          [--warmup 10 (seconds at full rate before each latency window)]
//          [--kubernetes kubeconfig|none (default kubeconfig: enrichment against the Kubernetes API test server)]
//          [--cpu-hog N (default 0: N busy-loop processes run beside everything for the whole run, to
//           measure the relay with less CPU left, as when the shared machine runs slow; results go to
//           relay[-spool-on]-hogN.json)]
//   BENCH_RELAY_LOG=<file>: the relays' stdout (their pino log) is appended to <file>.
//   BENCH_TRACE=1: the relay (bench/relay/relay-entry.ts) prints its event-loop stalls and GC pauses per
//   measured window, this process its own stalls at exit, and each client process prints, at exit on stderr, the worst latency per 100 ms
//   of the recorded window ("trace [[slot, ms], ...]"), to see when a tail happened.
//   diagnosis only (results are not written): --only throughput|20k|2k,
//   --relay-node-arg / --clients-node-arg <node flag> (repeatable, e.g. --cpu-prof)
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, release } from 'node:os';
import { benchArgs, choiceOption, integerOption } from '../bench-args.js';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { Alert } from '../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, IngestResponse } from '../../proto/gen/palisade/v1/ingest.js';
import { startK8sApiServer, writeKubeconfig, type K8sApiServer } from '../../test/support/k8s-api-server.js';
import { containerIdFor, createDeployment, createNamespace, createNode } from '../../test/support/k8s-fixtures.js';

const values = benchArgs(import.meta.url, { options: { seconds: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' }, tsx: { type: 'boolean', default: false }, only: { type: 'string', default: '' }, 'relay-node-arg': { type: 'string', multiple: true, default: [] }, 'clients-node-arg': { type: 'string', multiple: true, default: [] }, 'client-window': { type: 'string', default: String(4 * 1024 * 1024) }, 'client-api': { type: 'string', default: 'channel' }, clients: { type: 'string', default: '5' }, 'client-procs': { type: 'string', default: '' }, 'client-impl': { type: 'string', default: 'go' }, spool: { type: 'string', default: 'off' }, 'cpu-hog': { type: 'string', default: '0' }, kubernetes: { type: 'string', default: 'kubeconfig' }, warmup: { type: 'string', default: '10' } } });
/**
 * Seconds each latency phase runs at its full rate before the measured window. A cold
 * relay and cold clients (code not yet optimised) fall behind in the first second and
 * build a backlog; with 2 s that backlog was sometimes still draining at the start of
 * the window (latencies of 0.5-1 s in its first 100-300 ms, BENCH_TRACE=1). With 4 s the
 * same (2026-11-30, spool on: the relay's loop stalled 20-300 ms on and off for 5.4-6.9 s
 * after the start, and windows that opened right after saw 190-490 ms in their first
 * 100-600 ms, < 50 ms after), so 10 s. The relay's own loop being quiet is not enough:
 * once it was, the clients still held the backlog for ~0.6 s.
 */
const WARMUP_S = integerOption('warmup', values.warmup, 10, 1, 600);
/** The relay's ingest spool (relay/spool): 'off' = in-memory acks; 'on' = a fresh spool directory per relay process. */
const SPOOL = choiceOption('spool', values.spool, ['on', 'off'], 'off');
/**
 * Busy-loop processes (nice 0, one core each at most) started before the first phase and
 * killed at exit: the machine's speed changes within a day by up to 2x, so a run with a
 * hog shows whether the goals hold with about half the CPU the run would have had.
 */
const CPU_HOG = integerOption('cpu-hog', values['cpu-hog'], 0, 0, 8);
// bounded even if this runner dies without its exit handler (SIGINT, SIGKILL): each hog stops
// when its parent changes or after 2 h
const HOG_LOOP = `const p = process.ppid, end = Date.now() + 2 * 3600e3; for (let i = 1; ; i++) if (i % 1e7 === 0 && (process.ppid !== p || Date.now() > end)) break;`;
const hogs = Array.from({ length: CPU_HOG }, () => spawn(process.execPath, ['-e', HOG_LOOP], { stdio: 'ignore' }));
process.on('exit', () => { for (const h of hogs) h.kill('SIGKILL'); });
/**
 * Processes the log-stream clients are spread over (default 2: 3 + 2 clients). Five
 * grpc-js clients in one process use ~0.6 core on one event loop and were the longest
 * lag at 20k (event-loop delay max 50 ms on a quiet machine, up to 1 s under load); in
 * 4 interleaved 20k runs under load (05:35 UTC) 2 processes gave p99 44 / 545 ms, 1
 * process 808 / 3,171 ms.
 */
/**
 * Log-stream client implementation. 'go' (default): bench/relay/gosink, grpc-go clients,
 * the library karmor and other feeder.LogService consumers are built on, reading the same
 * four Alert fields as the node clients; one process holds all clients (goroutines, one
 * connection each, grpc-go's default BDP-estimated window). 'node': bench/relay/sinks.ts,
 * grpc-js. On these 2 vCPUs the node clients used 0.72-0.78 of a core at 20k events/s x 5
 * clients (event-loop delay p99 80-150 ms), competing with the relay for the same cores and
 * adding their own lag to every latency sample; the Go clients use about half of that.
 */
const CLIENT_IMPL = choiceOption('client-impl', values['client-impl'], ['go', 'node'], 'go');
const CLIENT_API = choiceOption('client-api', values['client-api'], ['channel', 'stub'], 'channel');
/** --only: one diagnosis phase, results not written. */
const ONLY = values.only === '' ? undefined : choiceOption('only', values.only, ['throughput', '20k', '2k'], '20k');
const CLIENT_PROCS = integerOption('client-procs', values['client-procs'] || undefined, CLIENT_IMPL === 'go' ? 1 : 2, 1, 64);
const CLIENTS = integerOption('clients', values.clients, 5, 1, 1000);
/** Log-stream clients' HTTP/2 receive window in bytes (0: grpc-js's default, 64 KiB). */
const CLIENT_WINDOW = integerOption('client-window', values['client-window'], 4 * 1024 * 1024, 0, 2 ** 31 - 1);
const TSX = values.tsx;
const SECONDS = integerOption('seconds', values.seconds, 8, 2, 3600);
const NODES = 50;
/**
 * Enrichment: 'kubeconfig' (default) = the relay runs with --kubernetes-mode kubeconfig
 * against the repository's Kubernetes API test server (test/support/k8s-api-server.ts),
 * started in this process and populated before the first relay starts (after the
 * informers' initial list nothing changes, so it only holds idle watches during the
 * measured windows); 'none' = the relay runs with kubernetes.mode none (no lookups).
 */
const KUBE = choiceOption('kubernetes', values.kubernetes, ['kubeconfig', 'none'], 'kubeconfig');
/** Pods per simulated node; each node's alerts carry its pods' container ids in turn. */
const PODS_PER_NODE = 10;
/** Namespaces the nodes' Deployments are spread over. */
const NAMESPACES = 5;

const OWN = { 'grpc.use_local_subchannel_pool': 1 } as const;
const root = new URL('../../', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** argv for node running one of this folder's entry points, compiled or under tsx. */
const entry = (name: string): string[] => (TSX ? ['--import', 'tsx', `bench/relay/${name}.ts`] : [`dist/bench/relay/${name}.js`]);
/** The Go clients' binary, built (go build caches) into dist/bench/relay/gosink before the first run. */
const GOSINK = join(root, 'dist/bench/relay/gosink');
if (CLIENT_IMPL === 'go') {
  const go = spawnSync('go', ['build', '-o', GOSINK, '.'], { cwd: join(root, 'bench/relay/gosink'), stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } });
  if (go.status !== 0) throw new Error('go build in bench/relay/gosink failed (Go toolchain and the Go module proxy are needed; or run with --client-impl node)');
}
if (!TSX) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'bench/relay/tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error('tsc -p bench/relay/tsconfig.json failed');
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function vm(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The cluster the nodes belong to: per node a Node object and one Deployment
 * (namespace bench-<i % 5>, ReplicaSet -> Deployment owner chain) of PODS_PER_NODE
 * running pods scheduled on it, one container each (containerd://<64 hex> in
 * containerStatuses). Returns the container ids (bare 64 hex, as the collector sends
 * them) per node. With --kubernetes none no server runs, but the nodes' alerts carry
 * the same container ids.
 */
type Cluster = { ids: string[][]; kubeArgs: string[]; close: () => Promise<void> };
async function startCluster(): Promise<Cluster> {
  const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  const ids: string[][] = [];
  if (KUBE === 'none') {
    // container ids of the same form (64 hex), no server
    for (const [i, n] of names.entries()) ids.push(Array.from({ length: PODS_PER_NODE }, (_, j) => containerIdFor(`bench/${i}/${n}/${j}`)));
    return { ids, kubeArgs: ['--kubernetes-mode', 'none'], close: async () => undefined };
  }
  const a: K8sApiServer = await startK8sApiServer();
  for (let n = 0; n < NAMESPACES; n++) createNamespace(a, `bench-${n}`, { labels: { team: `t${n}` } });
  for (const [i, n] of names.entries()) {
    createNode(a, n);
    const w = createDeployment(a, {
      namespace: `bench-${i % NAMESPACES}`, name: `app-${i}`, replicas: PODS_PER_NODE, nodeName: n,
      labels: { app: `app-${i}`, tier: i % 2 === 0 ? 'web' : 'worker' },
    });
    ids.push(w.pods.map((p) => p.containerIds[0] as string));
  }
  const dir = mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? '/tmp/palisade-test', 'bench-relay-kube-'));
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), a.url);
  return {
    ids, kubeArgs: ['--kubernetes-mode', 'kubeconfig', '--kubernetes-kubeconfig', kubeconfig],
    close: async () => {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
// BENCH_TRACE=1: this process's (the nodes') event-loop stalls over 20 ms, per 100 ms slot, on stderr at exit.
if (process.env['BENCH_TRACE'] === '1') {
  const stalls: Array<[number, number]> = [];
  let last = process.hrtime.bigint();
  setInterval(() => {
    const now = process.hrtime.bigint();
    const lateMs = Number(now - last) / 1e6 - 5;
    if (lateMs > 20) stalls.push([Math.floor(Number(now) / 1e8) % 10000, Math.round(lateMs)]);
    last = now;
  }, 5).unref();
  process.on('exit', () => process.stderr.write(`nodetrace stalls ${JSON.stringify(stalls)}\n`));
}
mkdirSync(process.env['PALISADE_TEST_TMP'] ?? '/tmp/palisade-test', { recursive: true });
const cluster = await startCluster();

type RelayStats = Record<string, number>;
async function startRelay(extra: readonly string[] = []): Promise<{ pid: number; ingest: number; logs: number; stats: () => Promise<RelayStats>; stop: () => Promise<void> }> {
  // a reference run may set the spool itself (--spool on: the reference is the relay without it)
  // a fresh spool directory per relay, removed when it stops (each holds up to spool.maxBytes)
  const spoolDir = !extra.includes('--spool-enabled') && SPOOL === 'on' ? mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? '/tmp/palisade-test', 'bench-relay-spool-')) : undefined;
  const spoolArgs = extra.includes('--spool-enabled') ? [] : spoolDir !== undefined ? ['--spool-enabled', 'true', '--spool-dir', spoolDir] : ['--spool-enabled', 'false'];
  const child = spawn(process.execPath, [...(values['relay-node-arg'] ?? []), ...entry('relay-entry'), ...spoolArgs, '--ingest-listen', '127.0.0.1:0', '--log-stream-listen', '127.0.0.1:0',
    '--throttle-enabled', 'false', '--throttle-collapse-window-ms', '0', '--ingest-max-events-per-sec', '10000000',
    '--log-stream-client-queue-size', '50000', '--log-stream-replay-buffer', '50000', '--log-level', 'info', ...cluster.kubeArgs, ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const statWaiters: Array<(s: RelayStats) => void> = [];
  const logTo = process.env['BENCH_RELAY_LOG'];
  child.stdout.on('data', (b: Buffer) => {
    if (logTo !== undefined && logTo !== '') appendFileSync(logTo, b);
    out += b.toString();
    let i;
    while ((i = out.indexOf('{"bench":')) >= 0 && out.indexOf('\n', i) > i) {
      const end = out.indexOf('\n', i);
      statWaiters.shift()?.((JSON.parse(out.slice(i, end)) as { bench: RelayStats }).bench);
      out = out.slice(0, i) + out.slice(end + 1);
    }
  });
  for (let i = 0; i < 600 && !out.includes('relay serving'); i++) await sleep(100);
  const line = out.split('\n').find((l) => l.includes('relay serving'));
  if (!line) throw new Error(`relay did not start: ${out}`);
  const j = JSON.parse(line) as { ingestPort: number; logStreamPort: number };
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  /** The relay's event-loop delay and GC figures since the previous call (bench/relay/relay-entry.ts). */
  const stats = (): Promise<RelayStats> => new Promise((res) => {
    statWaiters.push(res);
    child.kill('SIGUSR2');
  });
  return { pid: child.pid as number, ingest: j.ingestPort, logs: j.logStreamPort, stats, stop: async () => {
    child.kill('SIGTERM');
    await exited;
    if (spoolDir !== undefined) rmSync(spoolDir, { recursive: true, force: true });
  } };
}

/**
 * The relay's event-loop delay (monitorEventLoopDelay's intervals minus its 10 ms
 * resolution: how late a 10 ms timer ran) and GC pauses over a measured window.
 */
function relayFigures(st: RelayStats, dt: number): Record<string, number> {
  const late = (k: string): number => Math.max(0, (st[k] as number) - 10);
  return {
    eventLoopDelayP50ms: late('eldP50ms'), eventLoopDelayP99ms: late('eldP99ms'), eventLoopDelayMaxms: late('eldMaxms'),
    gcPauseMsPerSec: (st['gcMs'] as number) / dt, gcPauseMaxms: st['gcMaxMs'] as number, gcMajorCount: st['gcMajor'] as number, heapUsedMiBAtEnd: st['heapUsedMiB'] as number,
    // where the RSS is at the end of the window: V8's heap (reserved), Buffers and other off-heap memory
    heapTotalMiBAtEnd: st['heapTotalMiB'] as number, externalMiBAtEnd: st['externalMiB'] as number, arrayBuffersMiBAtEnd: st['arrayBuffersMiB'] as number,
    heapTotalPeakMiB: st['heapTotalPeakMiB'] as number, externalPeakMiB: st['externalPeakMiB'] as number,
    // with the spool: its fdatasyncs in the window (each covers the groups written before it; acks wait for them)
    ...((st['spoolSyncs'] ?? 0) > 0 ? { spoolSyncsPerSec: (st['spoolSyncs'] as number) / dt, spoolSyncP50ms: st['spoolSyncP50ms'] as number, spoolSyncP99ms: st['spoolSyncP99ms'] as number, spoolSyncMaxms: st['spoolSyncMaxms'] as number } : {}),
    // with the spool: its group writes (buffered pwritev in the relay's thread pool; until 2026-12-01 on its loop thread)
    ...((st['spoolWrites'] ?? 0) > 0 ? { spoolWritesPerSec: (st['spoolWrites'] as number) / dt, spoolWriteP99ms: st['spoolWriteP99ms'] as number, spoolWriteMaxms: st['spoolWriteMaxms'] as number, spoolWriteInFlightShare: (st['spoolWriteSumms'] as number) / 1000 / dt } : {}),
  };
}

/** Ingest ack latency (send -> ack at the node), recorded while `on`. */
const ackLat = { on: false, ms: [] as number[] };

/** Protobuf base-128 varint of a non-negative integer. */
function varintOf(v: number | bigint): Buffer {
  let x = BigInt(v);
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Buffer.from(out);
}
/** Bytes of the varint of v (0 <= v < 2^53). */
const varLen = (v: number): number => {
  let n = 1;
  for (; v > 0x7f; v = Math.floor(v / 128)) n++;
  return n;
};
/** Writes the varint of v at p; returns the position after it. */
function putVar(b: Buffer, p: number, v: number): number {
  for (; v > 0x7f; v = Math.floor(v / 128)) b[p++] = (v % 128) | 0x80;
  b[p++] = v;
  return p;
}
/** A length-delimited field: key (field number, wire type 2), length, bytes. */
const lenField = (field: number, body: Buffer): Buffer => Buffer.concat([varintOf((field << 3) | 2), varintOf(body.length), body]);
const strField = (field: number, s: string): Buffer => lenField(field, Buffer.from(s));

/**
 * A simulated enforcer: a real gRPC client of palisade.v1 Ingest.Stream (hello, then
 * batches, acks read back). Like the enforcer's outbox it sets Timestamp, UpdatedTime
 * and HostName and leaves ClusterName for the relay to stamp. Its requests are built
 * as protobuf bytes from a per-node prefix (the fixed Alert fields, made once by
 * Alert.encode) plus the per-event Resource and Data fields, so the load generator
 * spends little CPU on the two cores it shares with the relay and the clients; the
 * bytes are an ordinary IngestRequest (every field decodes as with IngestRequest.encode).
 */
class Node {
  readonly client: Client;
  readonly call: ClientDuplexStream<Buffer, IngestResponse>;
  acked = 0n;
  sent = 0n;
  private readonly waiters: Array<() => void> = [];
  /** [last seq, send time] of batches not yet acked. */
  private readonly inFlight: Array<[bigint, bigint]> = [];
  /** The fixed Alert fields, one prefix per container of this node (all the same length). */
  private readonly heads: Buffer[];
  constructor(port: number, readonly id: string, containerIds: readonly string[]) {
    this.client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), OWN);
    this.call = this.client.makeBidiStreamRequest('/palisade.v1.Ingest/Stream', (b: Buffer) => b, (b: Buffer) => IngestResponse.decode(b));
    this.call.on('data', (r: IngestResponse) => {
      if (r.ackedSeq > this.acked) this.acked = r.ackedSeq;
      const now = process.hrtime.bigint();
      while (this.inFlight.length > 0 && (this.inFlight[0] as [bigint, bigint])[0] <= this.acked) {
        const [, t0] = this.inFlight.shift() as [bigint, bigint];
        if (ackLat.on) ackLat.ms.push(Number(now - t0) / 1e6);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.call.on('error', () => undefined);
    this.call.write(Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: id, nodeName: id, bootId: 'b1', agentVersion: 'bench', capabilities: [], clusterName: 'bench' } } }).finish()));
    const nowMs = Date.now();
    this.heads = containerIds.map((cid) => Buffer.from(Alert.encode(Alert.create({ Timestamp: BigInt(Math.floor(nowMs / 1000)), UpdatedTime: new Date(nowMs).toISOString().replace('Z', '000Z'), HostName: id, ContainerID: cid, Type: 'MatchedPolicy', PolicyName: 'p', Operation: 'File', Action: 'Audit', Result: 'Passed' })).finish()));
  }
  send(n: number): void {
    const first = Number(this.sent) + 1; // seqs stay far below 2^53
    const tn = process.hrtime.bigint();
    const data = strField(21, `t=${tn}`);
    const heads = this.heads;
    const headLen = (heads[0] as Buffer).length;
    // one buffer, written in place: IngestRequest{batch{node_id, boot_id, first_seq, last_seq, entries}}
    const ids = Buffer.concat([strField(1, this.id), strField(2, 'b1'), Buffer.from([0x18]), varintOf(first), Buffer.from([0x20]), varintOf(first + n - 1)]);
    const out = Buffer.allocUnsafe(16 + ids.length + n * (48 + headLen + data.length));
    let p = 8; // room for the batch key and length, moved into place at the end
    p += ids.copy(out, p);
    for (let i = 0; i < n; i++) {
      const seq = first + i;
      const res = `/etc/${seq}`; // ASCII, < 128 bytes
      const alertLen = headLen + 3 + res.length + data.length;
      const head = heads[seq % heads.length] as Buffer; // the node's containers in turn
      const seqLen = varLen(seq);
      out[p++] = 0x2a; // entries (5)
      p = putVar(out, p, 1 + seqLen + 1 + varLen(alertLen) + alertLen);
      out[p++] = 0x08; // seq (1)
      p = putVar(out, p, seq);
      out[p++] = 0x12; // alert (2)
      p = putVar(out, p, alertLen);
      // byte loops: Buffer.copy/write cost more than these few dozen bytes
      for (let j = 0; j < head.length; j++) out[p++] = head[j] as number;
      out[p++] = 0xa2; // Resource (20)
      out[p++] = 0x01;
      out[p++] = res.length;
      for (let j = 0; j < res.length; j++) out[p++] = res.charCodeAt(j);
      for (let j = 0; j < data.length; j++) out[p++] = data[j] as number;
    }
    const batchLen = p - 8;
    const hdr = 1 + varLen(batchLen);
    out[8 - hdr] = 0x12; // batch (2)
    putVar(out, 9 - hdr, batchLen);
    this.sent += BigInt(n);
    this.inFlight.push([this.sent, tn]);
    this.call.write(out.subarray(8 - hdr, p));
  }

  waitAck(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
  close(): void {
    this.call.end();
    this.client.close();
  }
}

type SinkReport = { got: number[]; enriched: number[]; dropped: number; p50: number; p99: number; samples: number; eldP99ms: number; eldMaxms: number };

/** The log-stream clients, in a child process (bench/relay/sinks.ts). */
class SinkProc {
  readonly child;
  private buf = '';
  private readonly waiting: Array<(line: string) => void> = [];
  constructor(port: number, clients: number) {
    this.child = CLIENT_IMPL === 'go'
      ? spawn(GOSINK, [String(port), String(clients)], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(process.execPath, [...(values['clients-node-arg'] ?? []), ...entry('sinks'), String(port), String(clients), String(CLIENT_WINDOW), CLIENT_API], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout.on('data', (b: Buffer) => {
      this.buf += b.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()?.(line);
      }
    });
  }
  private next(): Promise<string> {
    return new Promise((r) => this.waiting.push(r));
  }
  ready(): Promise<string> {
    return this.next();
  }
  send(cmd: string): void {
    this.child.stdin.write(cmd + '\n');
  }
  async report(): Promise<SinkReport> {
    const p = this.next();
    this.send('report');
    return JSON.parse(await p) as SinkReport;
  }
  async count(): Promise<{ got: number[]; dropped: number }> {
    const p = this.next();
    this.send('count');
    return JSON.parse(await p) as { got: number[]; dropped: number };
  }
  async raw(): Promise<Omit<SinkReport, 'p50' | 'p99' | 'samples'> & { lat: number[] }> {
    const p = this.next();
    this.send('raw');
    return JSON.parse(await p) as Omit<SinkReport, 'p50' | 'p99' | 'samples'> & { lat: number[] };
  }
  exit(): void {
    this.send('exit');
  }
}

/** The log-stream clients over CLIENT_PROCS processes (bench/relay/sinks.ts). */
class Sinks {
  readonly procs: SinkProc[];
  constructor(port: number) {
    this.procs = Array.from({ length: CLIENT_PROCS }, (_, i) => new SinkProc(port, Math.floor(CLIENTS / CLIENT_PROCS) + (i < CLIENTS % CLIENT_PROCS ? 1 : 0)));
  }
  async ready(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.ready()));
  }
  send(cmd: string): void {
    for (const p of this.procs) p.send(cmd);
  }
  /** CPU seconds of every client process. */
  cpuSec(): number {
    return this.procs.reduce((s, p) => s + cpuSec(p.child.pid as number), 0);
  }
  /** Events received and drops announced so far, per client (cheap: no percentiles). */
  async count(): Promise<{ got: number[]; dropped: number }> {
    const rs = await Promise.all(this.procs.map((p) => p.count()));
    return { got: rs.flatMap((r) => r.got), dropped: rs.reduce((s, r) => s + r.dropped, 0) };
  }
  async report(): Promise<SinkReport> {
    if (this.procs.length === 1) return (this.procs[0] as SinkProc).report();
    const rs = await Promise.all(this.procs.map((p) => p.raw()));
    const lat = rs.flatMap((r) => r.lat);
    return { got: rs.flatMap((r) => r.got), enriched: rs.flatMap((r) => r.enriched), dropped: rs.reduce((s, r) => s + r.dropped, 0), p50: pct(lat, 50), p99: pct(lat, 99), samples: lat.length, eldP99ms: Math.max(...rs.map((r) => r.eldP99ms)), eldMaxms: Math.max(...rs.map((r) => r.eldMaxms)) };
  }
  exit(): void {
    this.send('exit');
  }
}

/**
 * The smallest share, over the clients, of alerts received with NamespaceName and
 * PodName both non-empty (bench/relay/sinks.ts checks every alert it receives).
 */
const enrichedFraction = (rep: SinkReport): number => Math.min(...rep.got.map((g, i) => (g === 0 ? NaN : (rep.enriched[i] as number) / g)));

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

/** Share of one core used by the relay, the clients' process and this process (the nodes) since c0. */
function cpuShares(c0: Array<number | NodeJS.CpuUsage>, relayPid: number, sinks: Sinks, dt: number): Record<string, number> {
  const own = process.cpuUsage(c0[2] as NodeJS.CpuUsage);
  return {
    relayCpuCores: (cpuSec(relayPid) - (c0[0] as number)) / dt,
    clientsCpuCores: (sinks.cpuSec() - (c0[1] as number)) / dt,
    nodesCpuCores: (own.user + own.system) / 1e6 / dt,
  };
}

async function throughput(extra: readonly string[] = []): Promise<Record<string, number>> {
  const r = await startRelay(extra);
  const sinks = new Sinks(r.logs);
  await sinks.ready();
  await sleep(1000);
  const nodes = Array.from({ length: NODES }, (_, i) => new Node(r.ingest, `node-${i}`, cluster.ids[i] as string[]));
  let running = true;
  const BATCH = 200;
  const loops = nodes.map(async (n) => {
    while (running) {
      while (running && n.sent - n.acked < BigInt(4 * BATCH)) n.send(BATCH);
      await n.waitAck();
    }
  });
  await sleep(2000); // warm-up
  const a0 = nodes.reduce((s, n) => s + Number(n.acked), 0);
  const g0 = (await sinks.report()).got;
  await r.stats();
  const c0 = [cpuSec(r.pid), sinks.cpuSec(), process.cpuUsage()];
  const t0 = performance.now();
  ackLat.ms = [];
  ackLat.on = true;
  let peak = 0;
  for (let i = 0; i < SECONDS * 4; i++) {
    await sleep(250);
    peak = Math.max(peak, vm(r.pid, 'VmRSS'));
  }
  ackLat.on = false;
  const dt = (performance.now() - t0) / 1000;
  const cpu = cpuShares(c0, r.pid, sinks, dt);
  const st = await r.stats();
  const relayStats = relayFigures(st, dt);
  const a1 = nodes.reduce((s, n) => s + Number(n.acked), 0);
  const rep = await sinks.report();
  const delivered = rep.got.map((g, i) => (g - (g0[i] as number)) / dt);
  running = false;
  for (const n of nodes) n.close();
  await Promise.race([Promise.all(loops), sleep(2000)]);
  const hwm = vm(r.pid, 'VmHWM');
  await r.stop();
  sinks.exit();
  return {
    ingestEventsPerSec: (a1 - a0) / dt,
    deliveredPerClientMin: Math.min(...delivered),
    deliveredPerClientMedian: pct(delivered, 50),
    clientDroppedTotal: rep.dropped,
    enrichedFraction: enrichedFraction(rep),
    ingestAckP50ms: pct(ackLat.ms, 50),
    ingestAckP99ms: pct(ackLat.ms, 99),
    rssPeakMiB: Math.max(peak, hwm),
    ...cpu,
    ...relayStats,
  };
}

async function latency(rate: number, extra: readonly string[] = []): Promise<Record<string, number>> {
  const r = await startRelay(extra);
  const sinks = new Sinks(r.logs);
  await sinks.ready();
  await sleep(1000);
  const nodes = Array.from({ length: NODES }, (_, i) => new Node(r.ingest, `node-${i}`, cluster.ids[i] as string[]));
  // Every node flushes a batch every 50 ms, as an enforcer does, but nodes are not in step:
  // their phases are spread over the period (node i is due at start + (i % PHASES) * 5 ms +
  // k * 50 ms). The rate is kept by the clock, not by counting timer ticks: when a node is
  // due it sends everything it owes by then (rate / NODES * elapsed - sent), so a late
  // timer makes a larger batch instead of a lower offered rate.
  const PERIOD_MS = 50;
  const PHASES = 10;
  const perNodePerMs = rate / NODES / 1000;
  const start = performance.now();
  const owedSent = new Array<number>(NODES).fill(0);
  const due = nodes.map((_, i) => start + (i % PHASES) * (PERIOD_MS / PHASES));
  let offered = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const now = performance.now();
    let nextWake = now + PERIOD_MS;
    for (let i = 0; i < NODES; i++) {
      if (now >= (due[i] as number)) {
        const n = Math.floor(perNodePerMs * (now - start)) - (owedSent[i] as number);
        if (n > 0) {
          (nodes[i] as Node).send(n);
          owedSent[i] = (owedSent[i] as number) + n;
          offered += n;
        }
        // the next due time on this node's phase grid, never in the past
        do due[i] = (due[i] as number) + PERIOD_MS; while ((due[i] as number) <= now);
      }
      nextWake = Math.min(nextWake, due[i] as number);
    }
    timer = setTimeout(tick, Math.max(0, nextWake - performance.now()));
  };
  let timer = setTimeout(tick, 0);
  await sleep(WARMUP_S * 1000);
  sinks.send('lat');
  ackLat.on = true;
  ackLat.ms = [];
  await r.stats();
  const c0 = [cpuSec(r.pid), sinks.cpuSec(), process.cpuUsage()];
  const o0 = offered;
  const t0 = performance.now();
  let peak = 0;
  for (let i = 0; i < SECONDS * 4; i++) {
    await sleep(250);
    peak = Math.max(peak, vm(r.pid, 'VmRSS'));
  }
  const o1 = offered;
  const dt = (performance.now() - t0) / 1000;
  const cpu = cpuShares(c0, r.pid, sinks, dt);
  const st = await r.stats();
  const relayStats = relayFigures(st, dt);
  stopped = true;
  clearTimeout(timer);
  ackLat.on = false;
  // every event sent must reach every client: wait (bounded) until each client has
  // received or been told it lost everything sent, then count what is missing
  const total = owedSent.reduce((a, b) => a + b, 0);
  for (let i = 0; i < 100; i++) {
    const c = await sinks.count();
    if (Math.min(...c.got) + c.dropped >= total) break;
    await sleep(100);
  }
  const rep = await sinks.report();
  const hwm = vm(r.pid, 'VmHWM');
  for (const n of nodes) n.close();
  await r.stop();
  sinks.exit();
  return {
    offeredEventsPerSec: (o1 - o0) / dt,
    eventsSentTotal: total,
    clientMissingEventsMax: Math.max(...rep.got.map((g) => total - g)),
    p50ms: rep.p50,
    p99ms: rep.p99,
    ingestAckP50ms: pct(ackLat.ms, 50),
    ingestAckP99ms: pct(ackLat.ms, 99),
    samples: rep.samples,
    clientDroppedTotal: rep.dropped,
    enrichedFraction: enrichedFraction(rep),
    ...(CLIENT_IMPL === 'node' ? { clientsEventLoopDelayP99ms: rep.eldP99ms, clientsEventLoopDelayMaxms: rep.eldMaxms } : {}),
    rssPeakMiB: Math.max(peak, hwm),
    ...cpu,
    ...relayStats,
  };
}

if (ONLY !== undefined) {
  const r = ONLY === 'throughput' ? await throughput() : await latency(ONLY === '2k' ? 2_000 : 20_000);
  console.table(r);
  await cluster.close();
  process.exit(0);
}
/**
 * The reference, measured in the same run: with --spool off, the relay with grpc-js's own
 * per-message writes; with --spool on, the same relay without its spool (throughput too).
 */
const REFERENCE = SPOOL === 'on' ? ['--spool-enabled', 'false'] : ['--log-stream-direct-writes', 'false'];
const RUNS = integerOption('runs', values.runs, 3, 1, 100);
const loadStart = loadavg();
type Phase = Record<string, number>;
const runs: Record<'tp' | 'tpref' | 'l20' | 'l20ref' | 'l2' | 'l2ref', Phase[]> = { tp: [], tpref: [], l20: [], l20ref: [], l2: [], l2ref: [] };
// rounds interleave the relay and its reference, so both see the same machine load
for (let i = 0; i < RUNS; i++) {
  runs.tp.push(await throughput());
  if (SPOOL === 'on') runs.tpref.push(await throughput(REFERENCE));
  runs.l20.push(await latency(20_000));
  runs.l20ref.push(await latency(20_000, REFERENCE));
  runs.l2.push(await latency(2_000));
  runs.l2ref.push(await latency(2_000, REFERENCE));
}
/** Field-wise median over the runs of a phase; `runs` keeps every run's p99 (or events/s). */
const median = (xs: Phase[], spread: string): Phase => {
  const out: Phase = {};
  for (const k of Object.keys(xs[0] ?? {})) out[k] = pct(xs.map((x) => x[k] as number), 50);
  return { ...out, runs: xs.length, ...Object.fromEntries(xs.map((x, j) => [`${spread}Run${j + 1}`, x[spread] as number])) };
};
const tp = median(runs.tp, 'ingestEventsPerSec');
const l20 = median(runs.l20, 'p99ms');
const l20ref = median(runs.l20ref, 'p99ms');
const l2 = median(runs.l2, 'p99ms');
const l2ref = median(runs.l2ref, 'p99ms');
const ratio = (ref: number | undefined, x: number | undefined): number => (ref ?? NaN) / (x ?? NaN);
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', kernel: release(), node: process.version, loadavg: loadavg(), loadavgAtStart: loadStart, cpuHogProcesses: CPU_HOG },
  method: `relay = palisade relay process (${TSX ? 'tsx' : 'compiled JS, no tsx'}), ${KUBE === 'kubeconfig' ? `enrichment on: --kubernetes-mode kubeconfig against the repository's protocol-faithful Kubernetes API test server (test/support/k8s-api-server.ts, plain HTTP on 127.0.0.1, in the bench runner process, populated before the first relay with ${NODES} Nodes, ${NAMESPACES} namespaces, per node one Deployment -> ReplicaSet -> ${PODS_PER_NODE} running pods scheduled on it, one container each, containerd:// ids in containerStatuses; each relay lists and watches it through its informers, nothing changes during the run), each node's alerts carry its ${PODS_PER_NODE} pods' container ids (bare 64 hex) in turn, so every alert needs an identity lookup; enrichedFraction = the smallest share over clients of received alerts with NamespaceName and PodName non-empty (must be 1)` : `enrichment off: --kubernetes-mode none (alerts carry container ids but no lookup is made; enrichedFraction 0 expected)`}, ${NODES} ingest clients in this process, ${CLIENTS} WatchAlerts clients in ${CLIENT_PROCS === 1 ? 'a child process' : `${CLIENT_PROCS} child processes`} (${CLIENT_IMPL === 'go' ? "bench/relay/gosink: grpc-go (the library karmor is built on), one grpc.ClientConn and HTTP/2 connection each, grpc-go's default BDP-estimated receive window, a raw codec" : `bench/relay/sinks.ts: grpc-js ${CLIENT_API === 'stub' ? 'Client.makeServerStreamRequest' : 'Channel.createCall (no per-message Readable/interceptors)'}, one HTTP/2 connection each, receive window ${CLIENT_WINDOW > 0 ? `${CLIENT_WINDOW} B (grpc-go clients such as karmor grow theirs by BDP estimation up to 16 MiB)` : "grpc-js's default 64 KiB"}`}; each message is decoded only for NamespaceName/PodName (enriched?), Operation (drop notices) and Data (the send time)), latency phases: each node sends one batch every 50 ms holding what it owes by the clock (rate / 50 x elapsed - sent, so offeredEventsPerSec is the target rate), node phases spread evenly over the period (10 phases 5 ms apart); after each window the runner waits up to 10 s for every client to hold every event sent (clientMissingEventsMax: events sent that some client did not get), latency = client receive time minus the send time carried in the alert's Data; loopback, throttle/collapse off, ${SPOOL === 'on' ? 'ingest spool on (a fresh directory per relay, fsync per group commit)' : 'ingest spool off (acks after the in-memory hand-off)'}, relay queue/replay 50,000 events, ${SECONDS} s measured after a warm-up at full rate (throughput: 2 s, latency phases: ${WARMUP_S} s) per phase; ${RUNS} rounds (throughput, 20k, 20k reference, 2k, 2k reference), medians per field, each run's p99 listed; relay event-loop delay = perf_hooks.monitorEventLoopDelay (10 ms resolution) minus the resolution, and GC pauses (PerformanceObserver 'gc'), both in the relay process over each measured window (bench/relay/relay-entry.ts, read by SIGUSR2) (2 vCPUs shared with other work: load average in machine.loadavg)${CPU_HOG > 0 ? `; ${CPU_HOG} busy-loop process${CPU_HOG > 1 ? 'es' : ''} (node -e, a counting loop, nice 0) ran beside everything for the whole run (--cpu-hog)` : ''}`,
  kubernetes: KUBE,
  goal: { eventsPerSec: 100_000, p99msAt20k: 50, rssMiB: 300 },
  throughput: tp,
  latencyAt20k: l20,
  latencyAt2k: l2,
  reference: {
    what: SPOOL === 'on'
      ? 'the same relay with spool.enabled=false (acks after the in-memory hand-off), same run, rounds interleaved'
      : 'the same relay with logStream.directWrites=false (grpc-js writes each message itself: the path before this change), same run',
    ...(SPOOL === 'on' ? { throughput: median(runs.tpref, 'ingestEventsPerSec'), throughputRatio: ratio(tp['ingestEventsPerSec'], median(runs.tpref, 'ingestEventsPerSec')['ingestEventsPerSec']) } : {}),
    latencyAt20k: l20ref,
    latencyAt2k: l2ref,
    p99RatioAt20k: ratio(l20ref['p99ms'], l20['p99ms']),
    p99RatioAt2k: ratio(l2ref['p99ms'], l2['p99ms']),
  },
};
const refName = SPOOL === 'on' ? 'spool off' : 'grpc-js writes';
console.table({ throughput: tp, ...(SPOOL === 'on' ? { 'reference throughput (spool off)': median(runs.tpref, 'ingestEventsPerSec') } : {}), 'latency @20k offered': l20, [`reference @20k (${refName})`]: l20ref, 'latency @2k offered': l2, [`reference @2k (${refName})`]: l2ref });
mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
// --spool on (the relay's default configuration) has its own file; relay.json is the spool-off run
const outFile = `${SPOOL === 'on' ? 'relay-spool-on' : 'relay'}${CPU_HOG > 0 ? `-hog${CPU_HOG}` : ''}.json`;
writeFileSync(new URL(`../results/${outFile}`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
await cluster.close();
process.exit(0);
