// Record header fields under nested pid namespaces and task switches, in both builds
// (tp_btf and raw_tracepoint). progs/nsheader.c nests 1, 2, 3 and 5 pid namespaces; in the
// innermost one two processes (its pid 1 and pid 2) pinned to one CPU take turns opening
// their own paths, so the BPF per-CPU header cache (bpf/palisade.bpf.c, hdr_cache) misses on
// every event and the fields come from the slow path each time: direct BTF loads for
// namespace levels 0-3 in the tp_btf build, probe reads beyond (level 5) and in the raw build.
// Every event must carry its own process's values as /proc shows them: host pid and ppid,
// pid and ppid in its pid namespace (ppid 0 for the namespace's pid 1, whose parent is
// outside), pid and mount namespace inodes. A mix-up between the two tasks, a wrong level
// or a stale cache entry fails it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorEvent, FileEvent } from '../../../collector/events.js';
import { buildProg, enterTestCgroup, record, TMP, type TestCgroup } from './harness.js';

const N = 300; // opens per process and depth

type Truth = { host: number; hostppid: number; ns: number; nsppid: number; pidns: number; mntns: number };

function parse(stdout: string): Map<number, Truth> {
  const out = new Map<number, Truth>();
  for (const line of stdout.split('\n')) {
    const kv = Object.fromEntries(line.split(' ').filter((w) => w.includes('=')).map((w) => w.split('=') as [string, string]));
    if (kv.role === undefined) continue;
    out.set(Number(kv.role), {
      host: Number(kv.host), hostppid: Number(kv.hostppid), ns: Number(kv.ns), nsppid: Number(kv.nsppid),
      pidns: Number(kv.pidns), mntns: Number(kv.mntns),
    });
  }
  return out;
}

for (const attachMode of ['tp_btf', 'raw_tracepoint'] as const) {
  describe(`collector: header fields in nested pid namespaces, per-CPU cache missing (${attachMode})`, () => {
    let cg: TestCgroup;
    let dir: string;

    before(() => {
      dir = mkdtempSync(join(TMP, 'collector-hdr-'));
      cg = enterTestCgroup(`hdr-${attachMode}`);
    });
    after(() => {
      cg?.leave();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const depth of [1, 2, 3, 5]) {
      it(`depth ${depth}: each event has its own task's pids and namespaces`, async () => {
        const prog = buildProg('nsheader');
        const rec = await record({ classes: ['file'], attachMode, cgroups: { mode: 'only', ids: [cg.id] }, seedProcesses: false });
        let truth: Map<number, Truth>;
        try {
          const r = spawnSync(prog, [dir, String(depth), String(N)], { encoding: 'utf8', timeout: 60_000 });
          assert.equal(r.status, 0, `nsheader exit: ${r.stderr}`);
          truth = parse(r.stdout);
          assert.equal(truth.size, 2, `two reports: ${r.stdout}`);
          const isLast = (ev: CollectorEvent): boolean => ev.kind === 'file' && ev.path === `${dir}/d${depth}-r2-${N - 1}`;
          await rec.waitFor(`open of ${dir}/d${depth}-r2-${N - 1}`, isLast);
        } finally {
          await rec.close();
        }
        const t1 = truth.get(1) as Truth, t2 = truth.get(2) as Truth;
        // what the program itself reports, so that a broken test program cannot pass
        assert.equal(t1.ns, 1);
        assert.equal(t1.nsppid, 0);
        assert.equal(t2.ns, 2);
        assert.equal(t2.nsppid, 1);
        assert.equal(t2.hostppid, t1.host);
        assert.equal(t1.pidns, t2.pidns);
        for (const role of [1, 2]) {
          const t = truth.get(role) as Truth;
          const prefix = `${dir}/d${depth}-r${role}-`;
          const evs = rec.events.filter((ev): ev is FileEvent => ev.kind === 'file' && ev.path.startsWith(prefix));
          assert.equal(evs.length, N, `opens of role ${role}`);
          for (const ev of evs) {
            const got = { pid: ev.pid, tid: ev.tid, ppid: ev.ppid, nsPid: ev.nsPid, nsTid: ev.nsTid, nsPpid: ev.nsPpid, pidNs: ev.pidNs, mntNs: ev.mntNs };
            const want = { pid: t.host, tid: t.host, ppid: t.hostppid, nsPid: t.ns, nsTid: t.ns, nsPpid: t.nsppid, pidNs: t.pidns, mntNs: t.mntns };
            assert.deepEqual(got, want, `${ev.path}`);
          }
        }
      });
    }
  });
}
