// The kernel cgroup filter follows setFilter() while the programs run. The sys_exit
// dispatcher caches cgroup membership per CPU (bpf/palisade.bpf.c, cg_cache) and drops the
// cache when any bpf(2) call returns; this test fails if a cached "not monitored" answer
// outlives the filter change, or a cached "monitored" answer outlives its removal.
// Phase 1: only an empty cgroup is monitored, the loop's cgroup is not (its opens are
// filtered, and the cache learns that); phase 2: the loop's cgroup is added (every open must
// arrive); phase 3: it is removed again (none may arrive).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cgroup2Root, cgroupIdOf } from '../../../collector/containers.js';
import type { FileEvent } from '../../../collector/events.js';
import { buildProg, record, type Recorder } from './harness.js';

const N = 2_000;

/** Runs `tester burst n path` inside cgroup dir; resolves with the child's pid once it exited. */
async function burstIn(dir: string, path: string, n: number): Promise<number> {
  const child = spawn(buildProg('tester'), ['burst', String(n), path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  let done = '';
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (l) => {
      if (l === 'ready=1') resolve();
      if (l.startsWith('done=')) done = l.slice(5);
    });
    void exited.then(() => reject(new Error('tester exited before it was ready')));
  });
  await ready;
  writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
  child.stdin.write('go\n');
  const [code] = await exited as [number | null];
  assert.equal(code, 0, 'tester exit code');
  assert.equal(done, String(n), 'tester ran every open');
  return child.pid as number;
}

describe('collector: cgroup filter changes while attached', () => {
  let rec: Recorder | undefined;
  const dirs: string[] = [];

  before(() => {
    const root = cgroup2Root();
    assert.ok(root, 'a cgroup2 mount');
    for (const name of ['loop', 'empty']) {
      const dir = join(root, `palisade-test-filterchange-${name}-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
    }
  });
  after(async () => {
    await rec?.close();
    for (const d of dirs) {
      try { rmdirSync(d); } catch (err) { process.stderr.write(`cleanup ${d}: ${String(err)}\n`); }
    }
  });

  it('captures exactly the opens made while the cgroup is listed', async () => {
    const [loopDir, emptyDir] = dirs as [string, string];
    const loopId = cgroupIdOf(`/${loopDir.split('/').pop()}`);
    const emptyId = cgroupIdOf(`/${emptyDir.split('/').pop()}`);
    assert.ok(loopId !== undefined && emptyId !== undefined, 'cgroup ids');
    rec = await record({ classes: ['file'], cgroups: { mode: 'only', ids: [emptyId] }, seedProcesses: false });
    const tag = `/nonexistent-palisade-filterchange-${process.pid}`;
    const opensOf = (pid: number, path: string): number =>
      rec?.events.filter((e): e is FileEvent => e.kind === 'file' && e.pid === pid && e.path === path).length ?? 0;

    const pid1 = await burstIn(loopDir, `${tag}/1`, N);
    rec.collector.setFilter({ cgroups: { mode: 'only', ids: [emptyId, loopId] } });
    const pid2 = await burstIn(loopDir, `${tag}/2`, N);
    rec.collector.setFilter({ cgroups: { mode: 'only', ids: [emptyId] } });
    const pid3 = await burstIn(loopDir, `${tag}/3`, N);

    // bounded wait until the drain thread has delivered what the kernel wrote
    for (let i = 0; i < 200 && opensOf(pid2, `${tag}/2`) < N; i++) await new Promise((r) => setTimeout(r, 50));
    const final = await rec.collector.close();
    assert.equal(final.lost, 0, 'nothing lost (the comparison below must be exact)');
    assert.equal(opensOf(pid1, `${tag}/1`), 0, 'phase 1: not listed, filtered');
    assert.equal(opensOf(pid2, `${tag}/2`), N, 'phase 2: listed, every open captured');
    assert.equal(opensOf(pid3, `${tag}/3`), 0, 'phase 3: removed again, filtered');
  });
});
