// Kernel tests of capability events (root, real BPF, capability:cap_capable): a raw socket
// opened with CAP_NET_RAW is reported as cap 13 with result 0, the same without the
// capability (setpriv to uid 65534 with no capabilities) with -EPERM; with the class off
// nothing is reported; the agent's own checks are never reported; repeats are suppressed in
// the kernel and counted. Each case runs with the tp_btf program and its raw_tracepoint twin.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { CapabilityEvent, CollectorEvent, ExitEvent } from '../../../collector/events.js';
import { buildProg, enterTestCgroup, keyValues, record, type Recorder, type TestCgroup } from './harness.js';

const isCap = (ev: CollectorEvent): ev is CapabilityEvent => ev.kind === 'capability';
const EPERM = 1;
const SETPRIV = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];

type Run = { pid: number; uid: number; errno: number; fails: number };

function run(prog: string, args: string[], unprivileged = false): Run {
  const r = unprivileged
    ? spawnSync('setpriv', [...SETPRIV, prog, ...args], { encoding: 'utf8', timeout: 60_000 })
    : spawnSync(prog, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${prog} ${args.join(' ')}: ${r.stderr}`);
  const kv = keyValues(r.stdout);
  return { pid: Number(kv.pid), uid: Number(kv.uid), errno: Number(kv.errno), fails: Number(kv.fails) };
}

for (const attachMode of ['tp_btf', 'raw_tracepoint'] as const) {
  describe(`collector: capability events (${attachMode})`, () => {
    let rec: Recorder;
    let prog: string;
    let cg: TestCgroup;

    before(async () => {
      spawnSync('bash', ['scripts/mount-kernel-fs.sh']);
      prog = buildProg('capcheck');
      cg = enterTestCgroup(`cap-${attachMode}`);
      rec = await record({ attachMode, classes: ['process', 'capability'], cgroups: { mode: 'only', ids: [cg.id] } });
      assert.deepEqual(rec.collector.stats().capability.error, '', 'the capability program is attached');
    });
    after(async () => {
      await rec?.close();
      cg?.leave();
    });

    it('reports CAP_NET_RAW held (ret 0) for a raw ICMP socket opened as root', async () => {
      const r = run(prog, ['raw']);
      assert.equal(r.errno, 0, 'root opens the raw socket');
      const ev = await rec.waitFor('CAP_NET_RAW check of the root child',
        (e): e is CapabilityEvent => isCap(e) && e.pid === r.pid && e.cap === 13);
      assert.equal(ev.class, 'capability');
      assert.equal(ev.capName, 'CAP_NET_RAW');
      assert.equal(ev.ret, 0);
      assert.equal(ev.uid, 0);
      assert.equal(ev.comm, 'capcheck');
      assert.equal(ev.ppid, process.pid);
      assert.equal(ev.ownUserns, true, 'the initial user namespace is root\'s own');
      assert.equal(ev.targetUserns, ev.capableUserns);
      assert.ok(ev.targetUserns > 0);
      assert.equal(ev.realCred, false);
      assert.equal(ev.cgroupId, cg.id);
      assert.equal(ev.syscall, attachMode === 'tp_btf' ? 41 : -1, 'socket(2) (known in the tp_btf build only)');
    });

    it('reports CAP_NET_RAW for an AF_PACKET socket too', async () => {
      const r = run(prog, ['packet']);
      assert.equal(r.errno, 0);
      const ev = await rec.waitFor('CAP_NET_RAW check of the AF_PACKET child',
        (e): e is CapabilityEvent => isCap(e) && e.pid === r.pid && e.cap === 13);
      assert.equal(ev.ret, 0);
    });

    it('reports -EPERM for the same socket without the capability (uid 65534, no capabilities)', async () => {
      const r = run(prog, ['raw'], true);
      assert.equal(r.uid, 65534);
      assert.equal(r.errno, EPERM, 'the socket is refused');
      const ev = await rec.waitFor('refused CAP_NET_RAW check of the unprivileged child',
        (e): e is CapabilityEvent => isCap(e) && e.pid === r.pid && e.cap === 13);
      assert.equal(ev.ret, -EPERM);
      assert.equal(ev.uid, 65534);
      assert.equal(ev.capName, 'CAP_NET_RAW');
      assert.equal(ev.comm, 'capcheck');
    });

    it('never reports the collector\'s own checks', () => {
      assert.ok(rec.events.some(isCap), 'capability events were recorded');
      assert.equal(rec.events.filter((e) => isCap(e) && e.pid === process.pid).length, 0);
    });

    it('suppresses repeats in the kernel and counts them', async () => {
      const before = rec.collector.stats().capability.suppressed;
      const n = 2000;
      const r = run(prog, ['raw', String(n)]);
      assert.equal(r.fails, 0);
      // the process's exit is reported after every check it made (one ring, in order)
      await rec.waitFor('exit of the looping child', (e): e is ExitEvent => e.kind === 'exit' && e.pid === r.pid);
      const reported = rec.events.filter((e): e is CapabilityEvent => isCap(e) && e.pid === r.pid && e.cap === 13 && e.ret === 0);
      assert.ok(reported.length >= 1, 'the first check is reported');
      assert.ok(reported.length < n / 10, `${reported.length} of ${n} equal checks reported`);
      const carried = reported.reduce((a, e) => a + e.suppressed, 0);
      assert.ok(carried <= n - reported.length, `carried counts (${carried}) cover at most the checks not reported`);
      const suppressed = rec.collector.stats().capability.suppressed - before;
      assert.ok(suppressed >= n - reported.length, `kernel counted ${suppressed} suppressed checks, at least ${n - reported.length} expected`);
    });
  });
}

describe('collector: capability class off', () => {
  let rec: Recorder;
  let prog: string;
  let cg: TestCgroup;

  before(async () => {
    prog = buildProg('capcheck');
    cg = enterTestCgroup('cap-off');
    rec = await record({ classes: ['process'], cgroups: { mode: 'only', ids: [cg.id] } });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
  });

  it('reports no capability check, and starts reporting once the class is turned on', async () => {
    const r1 = run(prog, ['raw']);
    const r2 = run(prog, ['raw'], true);
    for (const r of [r1, r2]) await rec.waitFor(`exit of ${r.pid}`, (e): e is ExitEvent => e.kind === 'exit' && e.pid === r.pid);
    assert.equal(rec.events.filter(isCap).length, 0, 'no capability events with the class off');
    assert.equal(rec.collector.stats().capability.suppressed, 0, 'nothing reached the repeat filter');
    rec.collector.setFilter({ classes: ['process', 'capability'] });
    const r3 = run(prog, ['raw']);
    const ev = await rec.waitFor('CAP_NET_RAW after the class was turned on',
      (e): e is CapabilityEvent => isCap(e) && e.pid === r3.pid && e.cap === 13);
    assert.equal(ev.ret, 0);
  });
});
