// Real podman: commands in the locally built busybox and Debian images, their output
// and exit codes, the ulimits every test container gets, and where a running
// container's process sits in the host's cgroup tree (the collector maps cgroups to
// container ids from exactly this).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import {
  BUSYBOX_IMAGE, DEBIAN_IMAGE, ensureImage, execBounded, runInContainer, startContainer, type StartedContainer,
} from '../../support/podman.js';

describe('podman with the local test images', { timeout: 25 * 60_000 }, () => {
  before(async () => {
    assert.equal(await ensureImage('busybox'), BUSYBOX_IMAGE);
    assert.equal(await ensureImage('debian'), DEBIAN_IMAGE);
  });

  it('runs echo in busybox and returns its output and exit code 0', async () => {
    const r = await runInContainer(BUSYBOX_IMAGE, ['echo', 'hello from palisade']);
    assert.equal(r.stdout, 'hello from palisade\n');
    assert.equal(r.exitCode, 0);
    assert.match(r.containerId, /^[0-9a-f]{64}$/);
  });

  it('returns the exit code of a failing command and its stderr', async () => {
    const r = await runInContainer(BUSYBOX_IMAGE, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('gives containers the nofile and nproc limits of DESIGN.md', async () => {
    const r = await runInContainer(BUSYBOX_IMAGE, ['sh', '-c', 'ulimit -n; ulimit -u']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '20000\n4096\n');
  });

  it('passes stdin and environment to the container', async () => {
    const r = await runInContainer(BUSYBOX_IMAGE, ['sh', '-c', 'printf "%s:" "$GREETING"; cat'], {
      env: { GREETING: 'hi' }, stdin: 'piped',
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'hi:piped');
  });

  it('runs bash, cat and finds apt in the Debian bookworm image', async () => {
    const r = await runInContainer(DEBIAN_IMAGE, ['bash', '-c', 'cat /etc/debian_version; command -v apt']);
    assert.equal(r.exitCode, 0, r.stderr);
    const [version, apt, ...rest] = r.stdout.split('\n');
    assert.match(version ?? '', /^12\.\d+$/);
    assert.equal(apt, '/usr/bin/apt');
    assert.deepEqual(rest, ['']);
  });

  it('kills a command that exceeds its timeout and removes its container', async () => {
    await assert.rejects(runInContainer(BUSYBOX_IMAGE, ['sleep', '120'], { timeoutMs: 3_000 }), /did not finish within 3000 ms/);
    const left = await execBounded('podman', ['ps', '--all', '--format', '{{.Names}}', '--filter', `name=^palisade-test-${process.pid}-`], 30_000);
    assert.equal(left.code, 0, left.stderr);
    assert.equal(left.stdout.trim(), '');
  });

  describe('a long-running container', () => {
    let c: StartedContainer | undefined;
    after(async () => { await c?.stop(); });

    it('has its host process in a cgroup named after the container id', async () => {
      c = await startContainer(BUSYBOX_IMAGE, ['sleep', '300']);
      assert.match(c.id, /^[0-9a-f]{64}$/);
      const lines = (await readFile(`/proc/${c.hostPid}/cgroup`, 'utf8')).trim().split('\n');
      // cgroup v2 line: "0::<path>"; with podman's cgroupfs manager the path is
      // /libpod_parent/libpod-<id>, with the systemd manager .../libpod-<id>.scope.
      const v2 = lines.find((l) => l.startsWith('0::'));
      assert.ok(v2, `no cgroup v2 line in /proc/${c.hostPid}/cgroup: ${lines.join(' | ')}`);
      const path = v2.slice(3);
      assert.match(path, new RegExp(`/libpod-${c.id}(\\.scope)?(/|$)`), `cgroup v2 path ${path}`);
      // The path is a real directory of the v2 hierarchy and holds the process.
      const v2Root = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
      const procs = (await readFile(`${v2Root}${path}/cgroup.procs`, 'utf8')).trim().split('\n').map(Number);
      assert.ok(procs.includes(c.hostPid), `${v2Root}${path}/cgroup.procs lacks ${c.hostPid}: ${procs.join(',')}`);
      // The process runs the command we gave.
      assert.equal((await readFile(`/proc/${c.hostPid}/cmdline`, 'utf8')).split('\0')[0], 'sleep');
    });

    it('is removed by stop()', async () => {
      assert.ok(c, 'container was not started');
      assert.equal((await execBounded('podman', ['container', 'exists', c.id], 30_000)).code, 0);
      await c.stop();
      await c.stop(); // idempotent
      assert.equal((await execBounded('podman', ['container', 'exists', c.id], 30_000)).code, 1);
    });
  });
});
