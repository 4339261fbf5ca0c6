// 32-bit (ia32 compat) syscalls on x86-64: a static ia32 program and the same program built
// for x86-64 run the same sequence (open by absolute and relative path, chmod, 16-bit and
// 32-bit chown, rename, unlink, a failed execve, socket/bind/listen/connect/accept4 on
// loopback, and on ia32 a second connection through socketcall(2)); the collector must report
// the same events with the same fields for both (the ia32 numbers mapped to x86-64 ones).
// Also int $0x80 from 64-bit code (a compat syscall in a 64-bit process).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectorEvent, FileEvent } from '../../../collector/events.js';
import { enterTestCgroup, keyValues, record, TMP, type Recorder, type TestCgroup } from './harness.js';

const src = fileURLToPath(new URL('./progs/compat32.c', import.meta.url));

/** Builds progs/compat32.c with extra cc flags into $PALISADE_TEST_TMP/collector/<name>. */
function build(name: string, flags: string[]): string {
  const outDir = join(TMP, 'collector');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  let fresh: boolean;
  try { fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs; } catch { fresh = false; }
  if (!fresh) {
    const r = spawnSync('cc', [...flags, '-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc ${flags.join(' ')} ${src} (the ia32 build needs gcc-multilib: scripts/setup.sh installs it): ${r.stderr}`);
  }
  return out;
}

const EVENTS_PER_RUN = 17; // 7 file, 1 failed exec, 9 network (see progs/compat32.c)

/** The fields that must match between the two builds, with the run's directory and ports
 * replaced by names. */
function comparable(e: CollectorEvent, dir: string, ports: Map<number, string>): Record<string, unknown> {
  const p = (s: string | undefined): string | undefined => s?.split(dir).join('<dir>');
  const addr = (a: { address: string; port: number } | undefined): unknown => a && { address: a.address, port: ports.get(a.port) ?? a.port };
  const base = { kind: e.kind, syscall: e.syscall, ret: e.ret, uid: e.uid, truncated: e.truncated };
  switch (e.kind) {
    case 'file': return { ...base, op: e.op, path: p(e.path), path2: p(e.path2), fd: e.fd, flags: e.flags, mode: e.mode, ownerUid: e.ownerUid, ownerGid: e.ownerGid };
    case 'exec': return { ...base, filename: e.filename, path: e.path, argv: e.argv };
    case 'network': return { ...base, op: e.op, family: e.family, sockType: e.sockType, protocol: e.protocol, fd: e.fd, arg: e.arg, local: addr(e.local), remote: addr(e.remote) };
    default: return base;
  }
}

describe('collector: ia32 compat syscalls', () => {
  let rec: Recorder;
  let cg: TestCgroup;
  let dir: string;
  let prog32: string, prog64: string;

  before(async () => {
    prog32 = build('compat32-i386', ['-m32', '-static']);
    prog64 = build('compat32-x86_64', ['-static', '-no-pie']);
    dir = mkdtempSync(join(TMP, 'collector-compat-'));
    cg = enterTestCgroup('compat32');
    rec = await record({ cgroups: { mode: 'only', ids: [cg.id] }, seedProcesses: false });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runProg = async (prog: string, name: string): Promise<{ pid: number; dir: string; kv: Record<string, string>; events: CollectorEvent[] }> => {
    const d = join(dir, name);
    mkdirSync(d);
    const out = spawnSync(prog, ['run', d], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.status, 0, `${prog} run: ${out.stderr}`);
    const kv = keyValues(out.stdout);
    const pid = Number(kv.pid);
    const mine = (e: CollectorEvent): boolean => e.pid === pid && (e.kind === 'file' || e.kind === 'network' || (e.kind === 'exec' && e.ret < 0));
    let n = 0;
    await rec.waitFor(`${EVENTS_PER_RUN} events of ${name}`, (e) => mine(e) && ++n >= EVENTS_PER_RUN);
    await new Promise((r) => setTimeout(r, 100)); // let any unexpected extra event arrive too
    return { pid, dir: d, kv, events: rec.events.filter(mine).sort((a, b) => (a.bootNs < b.bootNs ? -1 : 1)) };
  };

  it('reports the same events for an ia32 process as for an x86-64 process', async () => {
    const r32 = await runProg(prog32, 'ia32');
    const r64 = await runProg(prog64, 'x86_64');
    assert.equal(r32.kv.ptr_bytes, '4', 'the ia32 build is a 32-bit process');
    assert.equal(r64.kv.ptr_bytes, '8');
    const names = (kv: Record<string, string>): Map<number, string> => new Map([
      [Number(kv.server_port), 'server'], [Number(kv.c1_port), 'client1'], [Number(kv.c2_port), 'client2'],
    ]);
    const a = r32.events.map((e) => comparable(e, r32.dir, names(r32.kv)));
    const b = r64.events.map((e) => comparable(e, r64.dir, names(r64.kv)));
    assert.equal(a.length, EVENTS_PER_RUN, `ia32 events: ${JSON.stringify(a.map((x) => [x.kind, x.op ?? '', x.syscall]))}`);
    assert.deepEqual(a, b);
    // and the values themselves (so that equal-but-wrong cannot pass)
    const files = r32.events.filter((e): e is FileEvent => e.kind === 'file');
    assert.deepEqual(files.map((e) => [e.op, e.path, e.syscall]), [
      ['open', join(r32.dir, 'target.txt'), 2], ['open', join(r32.dir, 'target.txt'), 257],
      ['chmod', join(r32.dir, 'target.txt'), 90], ['chown', join(r32.dir, 'target.txt'), 92],
      ['chown', join(r32.dir, 'target.txt'), 92], ['rename', join(r32.dir, 'target.txt'), 82],
      ['unlink', join(r32.dir, 'renamed.txt'), 87],
    ]);
    assert.equal(files[0]?.flags, 0o2000102, 'O_RDWR|O_CREAT|O_CLOEXEC');
    assert.equal(files[0]?.mode, 0o640);
    assert.equal(files[0]?.ret, Number(r32.kv.open_fd));
    assert.equal(files[1]?.fd, -100, 'relative open: AT_FDCWD');
    assert.equal(files[2]?.mode, 0o600);
    assert.deepEqual([files[3]?.ownerUid, files[3]?.ownerGid], [0xffffffff, 0xffffffff], '16-bit chown: 0xffff is -1');
    assert.deepEqual([files[4]?.ownerUid, files[4]?.ownerGid], [0, 0]);
    assert.equal(files[5]?.path2, join(r32.dir, 'renamed.txt'));
    const exec = r32.events.find((e) => e.kind === 'exec');
    assert.ok(exec?.kind === 'exec');
    assert.equal(exec.ret, -2);
    assert.equal(exec.syscall, 59);
    assert.deepEqual(exec.argv, ['/nonexistent-palisade-compat/prog', 'arg-1'], 'argv read as 32-bit pointers');
    const net = r32.events.filter((e) => e.kind === 'network');
    assert.deepEqual(net.map((e) => [e.kind === 'network' ? e.op : '', e.syscall]), [
      ['socket', 41], ['bind', 49], ['listen', 50], ['socket', 41], ['connect', 42], ['accept', 288],
      ['socket', 41], ['connect', 42], ['accept', 43], // the last three through socketcall(2)
    ]);
    const sport = Number(r32.kv.server_port);
    const c2 = net[7];
    assert.ok(c2?.kind === 'network');
    assert.deepEqual(c2.remote, { address: '127.0.0.1', port: sport }, 'socketcall connect: address from user memory');
    assert.equal(c2.fd, Number(r32.kv.c2_fd));
    const s2 = net[8];
    assert.ok(s2?.kind === 'network');
    assert.equal(s2.ret, Number(r32.kv.s2_fd));
    assert.deepEqual(s2.remote, { address: '127.0.0.1', port: Number(r32.kv.c2_port) });
    const acc4 = net[5];
    assert.ok(acc4?.kind === 'network');
    assert.equal(acc4.arg, 0o2000000, 'accept4 flags (4th ia32 argument: esi)');
  });

  it('reports int $0x80 syscalls made by a 64-bit process', async () => {
    const d = join(dir, 'int80');
    mkdirSync(d);
    const out = spawnSync(prog64, ['int80', d], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.status, 0, out.stderr);
    const kv = keyValues(out.stdout);
    assert.equal(kv.buffer_below_4g, '1');
    assert.equal(kv.open_fd, '3', 'the int 0x80 open worked');
    const pid = Number(kv.pid);
    let n = 0;
    await rec.waitFor('two int 0x80 opens', (e) => e.kind === 'file' && e.pid === pid && ++n >= 2);
    const opens = rec.events.filter((e): e is FileEvent => e.kind === 'file' && e.pid === pid);
    assert.deepEqual(opens.map((e) => [e.op, e.path, e.syscall, e.flags, e.ret]), [
      ['open', join(d, 'int80.txt'), 2, 0o2000102, 3],
      ['open', join(d, 'int80.txt'), 257, 0, Number(kv.openat_fd)],
    ]);
  });
});
