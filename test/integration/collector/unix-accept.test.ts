// accept on a unix stream socket reports the peer's path (the connecting socket's bound
// address, bpf/palisade.bpf.c do_accept), and none for an unbound peer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NetEvent } from '../../../collector/events.js';
import { buildProg, enterTestCgroup, keyValues, record, TMP, type Recorder, type TestCgroup } from './harness.js';

describe('collector: unix accept peer path', () => {
  let rec: Recorder;
  let cg: TestCgroup;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(TMP, 'collector-unix-'));
    cg = enterTestCgroup('unix');
    rec = await record({ classes: ['network'], cgroups: { mode: 'only', ids: [cg.id] }, seedProcesses: false });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the bound peer path of an accepted unix connection', async () => {
    const out = spawnSync(buildProg('tester'), ['unix', dir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.status, 0, out.stderr);
    const kv = keyValues(out.stdout);
    const pid = Number(kv.pid);
    let n = 0;
    await rec.waitFor('two accepts', (e) => e.kind === 'network' && e.pid === pid && e.op === 'accept' && ++n >= 2);
    const accepts = rec.events.filter((e): e is NetEvent => e.kind === 'network' && e.pid === pid && e.op === 'accept');
    assert.equal(accepts.length, 2);
    const [a1, a2] = accepts as [NetEvent, NetEvent];
    assert.equal(a1.family, 'unix');
    assert.equal(a1.ret, Number(kv.s1_fd));
    assert.equal(a1.fd, Number(kv.listen_fd));
    assert.equal(a1.unixPath, join(dir, 'cli.sock'), 'the connecting socket was bound to cli.sock');
    assert.equal(a2.ret, Number(kv.s2_fd));
    assert.equal(a2.unixPath, undefined, 'an unbound peer has no path');
    // the connect still reports the address the client gave
    const connects = rec.events.filter((e): e is NetEvent => e.kind === 'network' && e.pid === pid && e.op === 'connect');
    assert.deepEqual(connects.map((e) => e.unixPath), [join(dir, 'srv.sock'), join(dir, 'srv.sock')]);
  });
});
