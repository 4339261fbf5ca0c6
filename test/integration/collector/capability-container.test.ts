// Capability checks inside a real podman container (rootful: the container shares the
// initial user namespace): reported with the container's id and in-container pid; with the
// default capabilities a raw socket's CAP_NET_RAW check passes, with --cap-drop NET_RAW it
// is refused (-EPERM), as the program inside saw.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSYBOX_IMAGE, ensureImage, execBounded, startContainer, type StartedContainer } from '../../support/podman.js';
import { cgroupIdOf } from '../../../collector/containers.js';
import type { CapabilityEvent, CollectorEvent } from '../../../collector/events.js';
import { keyValues, record, TMP, type Recorder } from './harness.js';

const isCap = (ev: CollectorEvent): ev is CapabilityEvent => ev.kind === 'capability';

/** capcheck linked statically, so that it runs in the busybox image */
function buildStatic(): string {
  const src = fileURLToPath(new URL('progs/capcheck.c', import.meta.url));
  const dir = join(TMP, 'collector');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'capcheck-static');
  let fresh: boolean;
  try { fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs; } catch { fresh = false; }
  if (!fresh) {
    const r = spawnSync('cc', ['-O2', '-static', '-o', out, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc -static ${src}: ${r.stderr}`);
  }
  return out;
}

function cgroupIdOfPid(pid: number): bigint {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  const id = line ? cgroupIdOf(line.slice(3)) : undefined;
  if (id === undefined) throw new Error(`no cgroup v2 id for pid ${pid}`);
  return id;
}

describe('collector: capability events in a container', () => {
  let rec: Recorder;
  let bin: string;
  const started: StartedContainer[] = [];

  before(async () => {
    await ensureImage(BUSYBOX_IMAGE);
    bin = buildStatic();
    rec = await record({ classes: ['process', 'capability'], cgroups: { mode: 'only', ids: [] } });
  });
  after(async () => {
    await rec?.close();
    for (const c of started) await c.stop();
  });

  for (const [label, podmanArgs, ret] of [
    ['--cap-add NET_RAW: CAP_NET_RAW held', ['--cap-add', 'NET_RAW'], 0],
    ['--cap-drop NET_RAW: refused', ['--cap-drop', 'NET_RAW'], -1],
  ] as const) {
    it(label, async () => {
      // the container waits for /tmp/go, runs capcheck once, then stays up (so that its cgroup
      // resolves to the container while the event is decoded)
      const c = await startContainer(BUSYBOX_IMAGE, ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.2; done; /capcheck raw > /tmp/out; sleep 60'],
        { podmanArgs: ['-v', `${bin}:/capcheck:ro`, ...podmanArgs] });
      started.push(c);
      rec.collector.setFilter({ cgroups: { mode: 'only', ids: [cgroupIdOfPid(c.hostPid)] } });
      // the container's cgroup resolves to it (its waiting loop execs sleep) before the check
      await rec.waitFor('an exec in the container', (e) => e.kind === 'exec' && e.container?.id === c.id);
      const go = await execBounded('podman', ['exec', c.id, '/bin/touch', '/tmp/go'], 30_000);
      assert.equal(go.code, 0, go.stderr);
      const ev = await rec.waitFor('CAP_NET_RAW check in the container', (e): e is CapabilityEvent =>
        isCap(e) && e.container?.id === c.id && e.cap === 13).catch((err: unknown) => {
        const seen = rec.events.filter(isCap).slice(-20).map((e) => `${e.comm}/${e.pid}/${e.capName}/${e.ret}/${e.container?.id.slice(0, 12) ?? 'host'}`);
        throw new Error(`${String(err)}; container ${c.id.slice(0, 12)}; last capability events: ${seen.join(' ')}`);
      });
      let out = '';
      for (let i = 0; i < 100 && !out.includes('errno='); i++) {
        out = (await execBounded('podman', ['exec', c.id, '/bin/cat', '/tmp/out'], 30_000)).stdout;
        if (!out.includes('errno=')) await new Promise((r) => setTimeout(r, 100));
      }
      const kv = keyValues(out);
      assert.equal(Number(kv.errno), ret === 0 ? 0 : 1, `the program saw ${kv.errno}`);
      assert.equal(ev.ret, ret);
      assert.equal(ev.capName, 'CAP_NET_RAW');
      assert.equal(ev.container?.runtime, 'libpod');
      assert.equal(ev.nsPid, Number(kv.pid), 'the in-container pid, as the program printed it');
      assert.notEqual(ev.nsPid, ev.pid);
      assert.equal(ev.ownUserns, true, 'rootful podman: the initial user namespace');
      assert.equal(ev.comm, 'capcheck');
      await c.stop();
    });
  }
});
