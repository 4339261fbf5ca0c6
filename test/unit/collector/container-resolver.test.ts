// createContainerResolver over a directory tree standing in for the cgroup2 root (ids are
// directory inodes, as in cgroupfs): an id not placed yet is unsettled and retried after
// rescanMs; a container and a host cgroup are both settled answers (the collector's
// last-cgroup memo relies on that distinction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContainerResolver } from '../../../collector/containers.js';

test('container resolver: unknown ids are unsettled until a rescan places them; containers and host cgroups settle', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cg-resolver-'));
  try {
    mkdirSync(join(root, 'system.slice', 'sshd.service'), { recursive: true });
    const r = createContainerResolver({ root, rescanMs: 2000 });
    const hostId = statSync(join(root, 'system.slice', 'sshd.service'), { bigint: true }).ino;
    assert.equal(r.resolve(hostId, 0), undefined, 'a host cgroup is no container');
    assert.equal(r.settled(hostId), true, 'and that answer is final');

    const cid = 'ab'.repeat(32);
    const dir = join(root, 'libpod_parent', `libpod-${cid}`);
    mkdirSync(dir, { recursive: true }); // created after the first scan
    const ctrId = statSync(dir, { bigint: true }).ino;
    assert.equal(r.resolve(ctrId, 0), undefined, 'not placed yet: the last scan is too recent');
    assert.equal(r.settled(ctrId), false, 'unknown yet is not final');
    await new Promise((res) => setTimeout(res, 2100));
    assert.equal(r.resolve(ctrId, 0)?.id, cid, 'placed by the next scan');
    assert.equal(r.settled(ctrId), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
