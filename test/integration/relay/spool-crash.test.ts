// The relay spool across a crash: a real `palisade relay` process on a spool
// directory, real gRPC ingest and watch clients over loopback, SIGKILL, restart on
// the same directory.
//   - every event the relay acked before the kill is delivered after the restart,
//     exactly once, to a palisade.v1 Watch client starting from the oldest event;
//   - the enforcer resends what it did not see acked: the relay recognises what it
//     had spooled (no second delivery, to any client, feeder WatchAlerts included)
//     and delivers the rest once;
//   - a Watch client that was connected before the kill resumes with its last
//     cursor: no gap (duplicates, if any, carry their ids).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { EventKind, WatchClient, type WatchEvent } from '../../../proto/gen/palisade/v1/watch.js';
import { Enforcer, OWN_CONNECTION, until, Watcher } from './support.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

type Proc = { child: ChildProcess; ingest: string; logStream: string; exited: Promise<number | null>; stderr: () => string };

async function startRelayProcess(dir: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'relay', '--ingest-listen', '127.0.0.1:0', '--log-stream-listen', '127.0.0.1:0',
    '--throttle-enabled', 'false', '--throttle-collapse-window-ms', '0', '--spool-dir', dir, '--log-level', 'info'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await until(() => out.includes('relay serving') || child.exitCode !== null, 'relay process serving', 1200);
  const line = out.split('\n').find((l) => l.includes('relay serving'));
  if (!line) throw new Error(`relay did not start: ${err}${out}`);
  const j = JSON.parse(line) as { ingestPort: number; logStreamPort: number };
  return { child, ingest: `127.0.0.1:${j.ingestPort}`, logStream: `127.0.0.1:${j.logStreamPort}`, exited, stderr: () => err + out };
}

/** A palisade.v1 Watch client of alerts, collecting (seq, cursor). */
class WatchCollector {
  readonly seqs: number[] = [];
  lastCursor = '';
  status: ServiceError | undefined;
  readonly client: WatchClient;
  readonly call: ClientReadableStream<WatchEvent>;
  constructor(address: string, start: { resumeAfter?: string; fromOldest?: boolean }, node: string) {
    this.client = new WatchClient(address, credentials.createInsecure(), OWN_CONNECTION);
    this.call = this.client.events({ kinds: [EventKind.EVENT_KIND_ALERT], namespaces: [], podSelector: '', operations: [], severities: [], minSeverity: 0, policyNames: [], actions: [], hostNames: [], resumeAfter: start.resumeAfter ?? '', fromOldest: start.fromOldest ?? false });
    this.call.on('data', (e: WatchEvent) => {
      if (e.id?.nodeId === node) this.seqs.push(Number(e.id.seq));
      this.lastCursor = e.cursor;
    });
    this.call.on('error', (e: ServiceError) => { this.status = e; });
  }
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

const seqOfAlert = (a: Alert): number => Number(/-(\d+)$/.exec(a.Resource)?.[1] ?? NaN);
const countBy = (xs: number[]): Map<number, number> => {
  const m = new Map<number, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

test('acked events survive SIGKILL of the relay: delivered once after restart; resends are not delivered twice; a cursor resumes without a gap', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), 'relay-spool-crash-'));
  const procs: ChildProcess[] = [];
  const closers: Array<() => void> = [];
  try {
    const p1 = await startRelayProcess(dir);
    procs.push(p1.child);
    const w1 = new WatchCollector(p1.logStream, {}, 'n1');
    closers.push(() => w1.close());
    const e1 = new Enforcer(p1.ingest, 'n1', 'b1').open();
    closers.push(() => e1.close());
    e1.hello();
    // the live watcher is subscribed once it sees a probe event
    const probe = new Enforcer(p1.ingest, 'probe', 'pb').open();
    closers.push(() => probe.close());
    probe.hello();
    for (let i = 1; i <= 200 && w1.lastCursor === ''; i++) {
      probe.alerts(i, i);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.notEqual(w1.lastCursor, '', 'watcher live on the first relay');

    // 40 batches of 10 acked, then 20 more sent and the relay killed at once
    for (let b = 0; b < 40; b++) e1.alerts(b * 10 + 1, b * 10 + 10);
    await until(() => e1.acked('b1') === 400n, 'first 400 acked', 800);
    await until(() => w1.seqs.length >= 400, 'watcher got the first 400', 800);
    for (let b = 40; b < 60; b++) e1.alerts(b * 10 + 1, b * 10 + 10);
    await until(() => e1.acked('b1') >= 420n, 'some of the rest acked', 800);
    p1.child.kill('SIGKILL');
    await p1.exited;
    const ackedAtKill = Number(e1.acked('b1'));
    const w1Seen = new Set(w1.seqs);
    const w1Cursor = w1.lastCursor;
    w1.close();
    e1.close();
    probe.close();
    assert.ok(ackedAtKill >= 420 && ackedAtKill <= 600, `acked at kill: ${ackedAtKill}`);

    // restart on the same spool directory
    const p2 = await startRelayProcess(dir);
    procs.push(p2.child);
    assert.match(p2.stderr(), /spool replayed/);
    const oldest = new WatchCollector(p2.logStream, { fromOldest: true }, 'n1');
    closers.push(() => oldest.close());
    const resumed = new WatchCollector(p2.logStream, { resumeAfter: w1Cursor }, 'n1');
    closers.push(() => resumed.close());
    await until(() => countBy(oldest.seqs).size >= ackedAtKill, 'replayed acked events', 800);
    await until(() => resumed.status !== undefined || new Set([...w1Seen, ...resumed.seqs]).size >= ackedAtKill, 'resumed watcher caught up', 800);
    assert.equal(resumed.status, undefined, `resume_after from the killed relay: ${resumed.status?.message ?? ''}`);

    // a feeder client (karmor logs style) subscribed before the enforcer resends
    const feeder = new Watcher<Alert>(p2.logStream, 'watchAlerts', 'all');
    closers.push(() => feeder.close());
    const probe2 = new Enforcer(p2.ingest, 'probe', 'pb2').open();
    closers.push(() => probe2.close());
    probe2.hello();
    for (let i = 1; i <= 200 && feeder.got.length === 0; i++) {
      probe2.alerts(i, i);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(feeder.got.length > 0, 'feeder client live on the restarted relay');

    // the enforcer reconnects: the hello answer carries the rebuilt ack; it resends
    // everything after what it saw acked (some of it the relay had spooled)
    const e2 = new Enforcer(p2.ingest, 'n1', 'b1').open();
    closers.push(() => e2.close());
    e2.hello();
    await until(() => e2.responses.length > 0, 'hello answered', 400);
    const relayAck = Number(e2.responses[0]?.ackedSeq ?? -1n);
    assert.ok(relayAck >= ackedAtKill, `relay acked ${relayAck} after restart, the enforcer had seen ${ackedAtKill}`);
    for (let s = ackedAtKill + 1; s <= 600; s += 10) e2.alerts(s, Math.min(s + 9, 600));
    for (let b = 60; b < 70; b++) e2.alerts(b * 10 + 1, b * 10 + 10);
    await until(() => e2.acked('b1') === 700n, 'all 700 acked after restart', 800);
    await until(() => countBy(oldest.seqs).size >= 700, 'watch from oldest has all 700', 800);

    // exactly once, from the oldest retained event
    const counts = countBy(oldest.seqs);
    const dup = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(dup, [], 'no event delivered twice after the restart');
    for (let s = 1; s <= 700; s++) assert.equal(counts.get(s), 1, `seq ${s} delivered once`);
    assert.equal(oldest.seqs.length, 700);

    // the feeder client: only events the first relay had not spooled, each once (its
    // stream is its own: it may still be behind the palisade.v1 watcher awaited above)
    const fedNew = (): number => new Set(feeder.got.filter((a) => a.HostName === 'n1').map(seqOfAlert).filter((s) => s > 600)).size;
    await until(() => fedNew() >= 100, 'feeder client has the 100 new events', 800);
    const fed = feeder.got.filter((a) => a.HostName === 'n1').map(seqOfAlert);
    const fedCounts = countBy(fed);
    assert.deepEqual([...fedCounts].filter(([, c]) => c > 1), [], 'feeder client: no duplicates');
    for (const s of fed) assert.ok(s > ackedAtKill, `seq ${s} was acked before the kill and replayed; the resend must not deliver it again`);
    for (let s = 601; s <= 700; s++) assert.equal(fedCounts.get(s), 1, `new seq ${s} reaches the feeder client once`);

    // the resumed cursor: nothing missing between what the client saw before the kill and now
    await until(() => new Set([...w1Seen, ...resumed.seqs]).size >= 700, 'resumed watcher has everything', 800);
    const missing: number[] = [];
    const union = new Set([...w1Seen, ...resumed.seqs]);
    for (let s = 1; s <= 700; s++) if (!union.has(s)) missing.push(s);
    assert.deepEqual(missing, [], 'resume after a restart has no gap');
    const resumedDups = resumed.seqs.filter((s) => w1Seen.has(s)).length;
    assert.ok(resumedDups <= 200, `duplicates on resume are bounded by the last group writes (${resumedDups})`);
    for (const c of closers) c();
    p2.child.kill('SIGTERM');
    assert.equal(await p2.exited, 0);
  } finally {
    for (const c of closers) {
      try { c(); } catch { /* already closed */ }
    }
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
