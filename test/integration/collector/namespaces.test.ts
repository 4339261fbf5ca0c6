// The kernel namespace filter (mount and pid namespace sets, 'only' / 'except'), combined
// with the cgroup filter, set at open and changed while attached. Real processes in new
// namespaces (unshare(1)) run bursts of opens of unique paths; the test counts exactly how
// many arrive per phase. The namespace verdict is cached per CPU per task and dropped when any
// bpf(2) call returns (bpf/palisade.bpf.c, ns_cache): a stale verdict fails phases 2-4.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCollector } from '../../../collector/index.js';
import { namespaceInode } from '../../../collector/namespaces.js';
import type { CollectorEvent, FileEvent } from '../../../collector/events.js';
import { enterTestCgroup, record, startBurstsTester, TMP, type BurstsTester, type Recorder, type TestCgroup } from './harness.js';

const N = 2_000;

type Burster = BurstsTester & { readonly hostPid: number; readonly mnt: number; readonly pid: number };

/** Starts `tester bursts N dir` (under `prefix`, e.g. unshare -m) and reads its namespaces. */
async function startBurster(prefix: string[], dir: string): Promise<Burster> {
  const t = await startBurstsTester(N, dir, prefix);
  // with unshare --fork the tester is unshare's child (pid 1 in its namespace)
  let hostPid = t.pid;
  if (prefix.includes('--fork')) {
    const kids = readFileSync(`/proc/${hostPid}/task/${hostPid}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(kids.length, 1, 'unshare --fork has one child');
    hostPid = Number(kids[0]);
  }
  const mnt = namespaceInode(hostPid, 'mnt'), pid = namespaceInode(hostPid, 'pid');
  assert.ok(mnt !== undefined && pid !== undefined, `namespaces of ${hostPid}`);
  return { hostPid, mnt, pid, run: (tag) => t.run(tag), end: () => t.end() };
}

describe('collector: namespace filter', () => {
  let rec: Recorder | undefined;
  let cg: TestCgroup;
  let dir: string;
  const bursters: Burster[] = [];

  before(() => {
    dir = mkdtempSync(join(TMP, 'collector-ns-'));
    cg = enterTestCgroup('ns');
  });
  after(async () => {
    for (const b of bursters) await b.end().catch(() => undefined);
    await rec?.close();
    cg?.leave();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a bad namespace inode, naming it', async () => {
    await assert.rejects(openCollector({ namespaces: { mode: 'only', mnt: [4026531840, -3] } }), /namespaces\.mnt\[1\]: '-3' is not a namespace inode number/);
    await assert.rejects(openCollector({ namespaces: { mode: 'some' as 'only' } }), /namespaces\.mode: 'some' must be all, only or except/);
  });

  it('reports exactly the events of the namespaces the filter lets through, also after changes', async () => {
    const inMnt = await startBurster(['unshare', '--mount', '--propagation', 'private'], dir);
    bursters.push(inMnt);
    const host = await startBurster([], dir);
    bursters.push(host);
    const inPid = await startBurster(['unshare', '--pid', '--fork'], dir);
    bursters.push(inPid);
    const self = { mnt: namespaceInode('self', 'mnt'), pid: namespaceInode('self', 'pid') };
    assert.notEqual(inMnt.mnt, self.mnt, 'unshare --mount made a new mount namespace');
    assert.equal(host.mnt, self.mnt);
    assert.notEqual(inPid.pid, self.pid, 'unshare --pid made a new pid namespace');
    assert.equal(inPid.mnt, self.mnt, 'the pid-namespace process shares the host mount namespace');

    // both filters: only the test's cgroup (keeps other load out of the ring) and, from the
    // start, only the new mount namespace
    rec = await record({ classes: ['file', 'process'], cgroups: { mode: 'only', ids: [cg.id] }, namespaces: { mode: 'only', mnt: [inMnt.mnt] }, seedProcesses: false });
    const count = (tag: string): number => rec?.events.filter((e): e is FileEvent => e.kind === 'file' && e.path === join(dir, tag)).length ?? 0;
    const phases: Array<[string, Burster, number]> = [];
    const run = async (tag: string, b: Burster, expect: number): Promise<void> => { await b.run(tag); phases.push([tag, b, expect]); };

    await run('a1', inMnt, N);
    await run('h1', host, 0);
    await run('p1', inPid, 0);
    rec.collector.setFilter({ namespaces: { mode: 'except', mnt: [inMnt.mnt] } });
    await run('a2', inMnt, 0);
    await run('h2', host, N);
    await run('p2', inPid, N);
    rec.collector.setFilter({ namespaces: { mode: 'only', pid: [inPid.pid] } });
    await run('a3', inMnt, 0);
    await run('h3', host, 0);
    await run('p3', inPid, N);
    rec.collector.setFilter({ namespaces: { mode: 'all' } });
    await run('a4', inMnt, N);
    await run('h4', host, N);
    // process events follow the filter too: only the pid namespace's tester exit is reported
    rec.collector.setFilter({ namespaces: { mode: 'only', pid: [inPid.pid] } });
    for (const b of bursters.splice(0)) await b.end();

    const expected = phases.reduce((n, [, , e]) => n + e, 0);
    const isExit = (pid: number) => (e: CollectorEvent): boolean => e.kind === 'exit' && e.pid === pid;
    for (let i = 0; i < 200 && (phases.reduce((n, [t]) => n + count(t), 0) < expected || !rec.events.some(isExit(inPid.hostPid))); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const final = await rec.collector.close();
    assert.equal(final.lost, 0, 'nothing lost (the counts below must be exact)');
    for (const [tag, , expect] of phases) assert.equal(count(tag), expect, `phase ${tag}: ${expect} opens`);
    const a1 = rec.events.find((e) => e.kind === 'file' && e.path === join(dir, 'a1'));
    assert.equal(a1?.mntNs, inMnt.mnt, 'the events carry the new mount namespace');
    const p2 = rec.events.find((e) => e.kind === 'file' && e.path === join(dir, 'p2'));
    assert.equal(p2?.pidNs, inPid.pid, 'and the new pid namespace');
    assert.equal(p2?.nsPid, 1, 'the tester is pid 1 in its pid namespace');
    assert.equal(rec.events.filter(isExit(inPid.hostPid)).length, 1, 'the exit inside the listed pid namespace is reported');
    assert.equal(rec.events.filter(isExit(host.hostPid)).length, 0, 'the host process exit is filtered');
    assert.equal(rec.events.filter(isExit(inMnt.hostPid)).length, 0, 'the mount-namespace process exit is filtered');
    assert.ok(final.kernel.filtered >= 5 * N, `filtered in the kernel: ${final.kernel.filtered}`);
  });
});
