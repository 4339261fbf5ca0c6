// Kernel tests of the collector (root, real BPF): exec, failed exec, open by absolute and
// relative path, TCP connect/accept on loopback, own activity excluded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorEvent, ExecEvent, FileEvent, NetEvent } from '../../../collector/events.js';
import { buildProg, enterTestCgroup, keyValues, record, TMP, type Recorder, type TestCgroup } from './harness.js';

const isExec = (ev: CollectorEvent): ev is ExecEvent => ev.kind === 'exec';
const isFile = (ev: CollectorEvent): ev is FileEvent => ev.kind === 'file';
const isNet = (ev: CollectorEvent): ev is NetEvent => ev.kind === 'network';

describe('collector: kernel events', () => {
  let rec: Recorder;
  let tester: string;
  let dir: string;
  let cg: TestCgroup;

  before(async () => {
    spawnSync('bash', ['scripts/mount-kernel-fs.sh']);
    tester = buildProg('tester');
    dir = mkdtempSync(join(TMP, 'collector-'));
    // only this test process and its children are monitored (the agent filter still
    // applies to this process itself: the own-activity test checks it)
    cg = enterTestCgroup('events');
    rec = await record({ cgroups: { mode: 'only', ids: [cg.id] } });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports exec of /bin/true with resolved path, argv, ppid, uid and result', async () => {
    const child = spawnSync('/bin/true', ['palisade-arg-1', 'two words']);
    assert.equal(child.status, 0);
    const ev = await rec.waitFor('exec of /bin/true', (e): e is ExecEvent => isExec(e) && e.pid === child.pid);
    assert.equal(ev.filename, '/bin/true');
    assert.equal(ev.path, realpathSync('/bin/true'));
    assert.equal(ev.exe, realpathSync('/bin/true'));
    assert.deepEqual(ev.argv, ['/bin/true', 'palisade-arg-1', 'two words']);
    assert.equal(ev.ppid, process.pid);
    assert.equal(ev.uid, process.getuid?.());
    assert.equal(ev.ret, 0);
    assert.equal(ev.comm, 'true');
    assert.equal(ev.container, undefined, 'a host process has no container');
  });

  it('reports failed execs with their error (ENOENT, EACCES)', async () => {
    const missing = join(dir, 'no-such-binary');
    const r1 = spawnSync(missing, ['x']);
    assert.ok(r1.error, 'spawning a missing binary fails');
    const enoent = await rec.waitFor('failed exec ENOENT', (e) => isExec(e) && e.filename === missing);
    assert.equal(enoent.ret, -2);
    assert.equal((enoent as ExecEvent).path, missing);
    assert.deepEqual((enoent as ExecEvent).argv, [missing, 'x']);

    const noexec = join(dir, 'not-executable');
    writeFileSync(noexec, '#!/bin/sh\nexit 0\n');
    chmodSync(noexec, 0o644);
    const r2 = spawnSync(noexec, []);
    assert.ok(r2.error, 'spawning a non-executable file fails');
    const eacces = await rec.waitFor('failed exec EACCES', (e) => isExec(e) && e.filename === noexec);
    assert.equal(eacces.ret, -13);
  });

  it('reports the same absolute path for an absolute and a relative open', async () => {
    const file = join(dir, 'target.txt');
    writeFileSync(file, 'x');
    const out = spawnSync(tester, ['open', dir, 'target.txt'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const kv = keyValues(out.stdout);
    const pid = Number(kv.pid);
    const opens: FileEvent[] = [];
    await rec.waitFor('two opens of target.txt', (e) => {
      if (isFile(e) && e.pid === pid && e.op === 'open' && e.path.endsWith('target.txt')) opens.push(e);
      return opens.length >= 2;
    });
    const all = rec.events.filter((e): e is FileEvent => isFile(e) && e.pid === pid && e.path.endsWith('target.txt'));
    assert.equal(all.length, 2, `two opens, got ${all.map((e) => e.path).join(', ')}`);
    for (const ev of all) {
      assert.equal(ev.path, file);
      assert.equal(ev.flags & 0o3, 0, 'O_RDONLY');
      assert.ok((ev.flags & 0o2000000) !== 0, 'O_CLOEXEC');
      assert.ok(ev.ret >= 0, 'open succeeded');
      assert.equal(ev.exe, tester);
    }
    assert.equal(all[0]?.syscall, 257, 'glibc open() is openat');
    assert.equal(all[1]?.fd, -100, 'relative open used AT_FDCWD');
    assert.equal(all[0]?.ret, Number(kv.abs_fd));
    assert.equal(all[1]?.ret, Number(kv.rel_fd));
  });

  it('reports a TCP connect to a loopback listener and its accept', async () => {
    const out = spawnSync(tester, ['tcp'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const kv = keyValues(out.stdout);
    const pid = Number(kv.pid), sport = Number(kv.server_port), cport = Number(kv.client_port);
    const connect = await rec.waitFor('connect', (e): e is NetEvent => isNet(e) && e.pid === pid && e.op === 'connect');
    assert.equal(connect.family, 'inet');
    assert.deepEqual(connect.remote, { address: '127.0.0.1', port: sport });
    assert.deepEqual(connect.local, { address: '127.0.0.1', port: cport });
    assert.equal(connect.ret, 0);
    assert.equal(connect.fd, Number(kv.connect_fd));
    const accept = await rec.waitFor('accept', (e): e is NetEvent => isNet(e) && e.pid === pid && e.op === 'accept');
    assert.equal(accept.ret, Number(kv.accept_fd));
    assert.equal(accept.fd, Number(kv.listen_fd));
    assert.deepEqual(accept.local, { address: '127.0.0.1', port: sport });
    assert.deepEqual(accept.remote, { address: '127.0.0.1', port: cport });
    const listen = await rec.waitFor('listen', (e): e is NetEvent => isNet(e) && e.pid === pid && e.op === 'listen');
    assert.equal(listen.arg, 8);
    assert.deepEqual(listen.local, { address: '127.0.0.1', port: sport });
    const bind = await rec.waitFor('bind', (e): e is NetEvent => isNet(e) && e.pid === pid && e.op === 'bind');
    assert.deepEqual(bind.local, { address: '127.0.0.1', port: 0 });
    const sock = await rec.waitFor('socket', (e): e is NetEvent => isNet(e) && e.pid === pid && e.op === 'socket');
    assert.equal(sock.family, 'inet');
    assert.equal(sock.sockType, 1);
  });

  it('does not report its own activity', async () => {
    const marker = join(dir, 'own-activity-marker');
    writeFileSync(marker, 'x');
    readFileSync(marker);
    // a child opening the same file proves such an open would be seen
    const out = spawnSync('/bin/cat', [marker]);
    assert.equal(out.status, 0);
    await rec.waitFor('child open of the marker', (e) => isFile(e) && e.path === marker && e.pid === out.pid);
    const own = rec.events.filter((e) => e.pid === process.pid);
    assert.equal(own.length, 0, `own events: ${own.slice(0, 3).map((e) => e.kind).join(', ')}`);
    assert.ok(rec.collector.stats().kernel.filtered > 0, 'the kernel filtered our own events');
    assert.equal(rec.collector.stats().kernel.dropped, 0, 'nothing was dropped during these tests');
  });
});
