// Kernel + podman tests: a process inside a real container is reported with the
// container's id, its in-container pid and its mount namespace; a cgroup filter in the
// kernel excludes a chosen container while another one stays visible.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { BUSYBOX_IMAGE, ensureImage, execBounded, startContainer, type StartedContainer } from '../../support/podman.js';
import { cgroupIdOf } from '../../../collector/containers.js';
import type { CollectorEvent, ExecEvent } from '../../../collector/events.js';
import { record, type Recorder } from './harness.js';

const isExec = (ev: CollectorEvent): ev is ExecEvent => ev.kind === 'exec';

function cgroupPathOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  if (!line) throw new Error(`no cgroup v2 line for pid ${pid}`);
  return line.slice(3);
}


describe('collector: containers', () => {
  let rec: Recorder;
  const started: StartedContainer[] = [];

  before(async () => {
    await ensureImage(BUSYBOX_IMAGE);
    // a larger ring: the first test monitors only its container, the second every cgroup but one
    rec = await record({ ringBytes: 64 << 20 });
  });
  after(async () => {
    await rec?.close();
    for (const c of started) await c.stop();
  });

  it('reports a container process with the container id, in-container pid and mount namespace', async () => {
    const c = await startContainer(BUSYBOX_IMAGE, ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 1; done; /bin/cat /etc/hostname; sleep 60']);
    started.push(c);
    // watch only this container's cgroup, then let it run cat
    const cgId = cgroupIdOf(cgroupPathOf(c.hostPid));
    assert.ok(cgId !== undefined);
    rec.collector.setFilter({ cgroups: { mode: 'only', ids: [cgId] } });
    const go = await execBounded('podman', ['exec', c.id, '/bin/touch', '/tmp/go'], 30_000);
    assert.equal(go.code, 0, go.stderr);
    const ev = await rec.waitFor('exec of cat in the container', (e): e is ExecEvent =>
      isExec(e) && e.container?.id === c.id && e.filename === '/bin/cat');
    assert.equal(ev.container?.runtime, 'libpod');
    assert.equal(ev.container?.id, c.id);
    // cat is a child of the container's init (pid 1 inside)
    assert.ok(ev.nsPid > 1 && ev.nsPid < 100, `in-container pid ${ev.nsPid}`);
    assert.notEqual(ev.nsPid, ev.pid, 'the in-container pid differs from the host pid');
    assert.equal(ev.nsPpid, 1, 'its parent is the container init');
    assert.equal(ev.ppid, c.hostPid);
    const mntns = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${c.hostPid}/ns/mnt`))?.[1]);
    const hostMntns = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/mnt'))?.[1]);
    assert.equal(ev.mntNs, mntns);
    assert.notEqual(ev.mntNs, hostMntns);
    // /bin/cat is a symlink to busybox in the image: the kernel resolves the executed file,
    // and the path is the one the container sees, not the overlay path on the host
    assert.equal(ev.path, '/bin/busybox');
    assert.equal(ev.exe, '/bin/busybox');
    assert.equal(ev.cgroupId, cgId);
    rec.collector.setFilter({ cgroups: { mode: 'all', ids: [] } });
  });

  it('excludes a chosen container with the kernel cgroup filter', async () => {
    const hidden = await startContainer(BUSYBOX_IMAGE, ['sleep', '120']);
    const shown = await startContainer(BUSYBOX_IMAGE, ['sleep', '120']);
    started.push(hidden, shown);
    const hiddenCg = cgroupIdOf(cgroupPathOf(hidden.hostPid));
    assert.ok(hiddenCg !== undefined, 'cgroup id of the hidden container');
    const before = rec.collector.stats().kernel.filtered;
    rec.collector.setFilter({ cgroups: { mode: 'except', ids: [hiddenCg] } });
    try {
      for (const c of [hidden, shown]) {
        const r = await execBounded('podman', ['exec', c.id, '/bin/ls', '/etc/palisade-filter-marker-none'], 30_000);
        assert.notEqual(r.code, null);
      }
      await rec.waitFor('exec of ls in the shown container', (e) =>
        isExec(e) && e.container?.id === shown.id && e.filename === '/bin/ls');
      const leaked = rec.events.filter((e) => e.cgroupId === hiddenCg && e.kind === 'exec' && e.filename === '/bin/ls');
      assert.equal(leaked.length, 0, 'no exec from the excluded container');
      assert.ok(rec.collector.stats().kernel.filtered > before, 'the kernel counted filtered events');
    } finally {
      rec.collector.setFilter({ cgroups: { mode: 'all', ids: [] } });
    }
  });
});
