// Fork events carry the clone flags of the parent's call (bpf/palisade.bpf.c,
// fork_clone_flags): fork, vfork, clone(CLONE_NEWUTS|SIGCHLD) and clone3 (CLONE_NEWUTS, exit
// signal SIGCHLD) made by progs/tester.c, each reported with its exact flags and syscall.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ForkEvent } from '../../../collector/events.js';
import { buildProg, enterTestCgroup, keyValues, record, type Recorder, type TestCgroup } from './harness.js';

const SIGCHLD = 17, CLONE_VM = 0x100, CLONE_VFORK = 0x4000, CLONE_NEWUTS = 0x04000000;

describe('collector: clone flags of fork events', () => {
  let rec: Recorder;
  let cg: TestCgroup;

  before(async () => {
    cg = enterTestCgroup('forkflags');
    rec = await record({ classes: ['process'], cgroups: { mode: 'only', ids: [cg.id] }, seedProcesses: false });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
  });

  it('reports fork, vfork, clone and clone3 with their flags and syscall', async () => {
    const out = spawnSync(buildProg('tester'), ['forks'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.status, 0, out.stderr);
    const kv = keyValues(out.stdout);
    const expect: Array<[string, number, number]> = [
      ['fork', SIGCHLD, 57], ['vfork', CLONE_VM | CLONE_VFORK | SIGCHLD, 58],
      ['clone', CLONE_NEWUTS | SIGCHLD, 56], ['clone3', CLONE_NEWUTS | SIGCHLD, 435],
    ];
    for (const [what, flags, nr] of expect) {
      const pid = Number(kv[what]);
      const ev = await rec.waitFor(`fork event of ${what} child ${pid}`, (e): e is ForkEvent => e.kind === 'fork' && e.pid === pid);
      assert.equal(ev.parentPid, Number(kv.pid), what);
      assert.equal(ev.cloneFlags, flags, `${what}: clone flags 0x${(ev.cloneFlags ?? -1).toString(16)}`);
      assert.equal(ev.syscall, nr, `${what}: syscall`);
    }
  });
});
