// The raw_tracepoint fallback (bpf/build/palisade-raw.bpf.o): the key kernel-event suites
// (exec, failed exec, open by absolute and relative path, TCP connect/accept/listen/bind/
// socket, own activity excluded, cgroup filter changes, exact loss accounting, namespace
// filter, ia32 syscalls, fork clone flags, unix accept peer path) run again in a child test run with PALISADE_COLLECTOR_ATTACH=
// raw_tracepoint; harness.record() fails any suite whose collector is not attached that way.
// Here: the option and the environment variable select the mode, stats() reports it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openCollector } from '../../../collector/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SUITES = ['events', 'filter-change', 'loss', 'namespaces', 'compat32', 'fork-flags', 'unix-accept'].map((n) => `test/integration/collector/${n}.test.ts`);

describe('collector: raw_tracepoint attach mode', () => {
  it('attaches as asked and reports the mode', async () => {
    for (const mode of ['raw_tracepoint', 'tp_btf'] as const) {
      const c = await openCollector({ attachMode: mode, classes: [], seedProcesses: false });
      const st = await c.close();
      assert.equal(st.attach.mode, mode);
      assert.equal(st.attach.fallback, '', 'no fallback when a mode is asked for');
    }
  });

  it('rejects an unknown mode from the environment, naming it', async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e',
      "import('./collector/index.js').then((m) => m.openCollector()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })"],
    { cwd: root, env: { ...process.env, PALISADE_COLLECTOR_ATTACH: 'kprobe' }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /attachMode: 'kprobe' must be auto, tp_btf, raw_tracepoint \(from \$PALISADE_COLLECTOR_ATTACH\)/);
  });

  it('passes the kernel-event suites with raw_tracepoint programs', () => {
    // a fresh test run (NODE_TEST_CONTEXT would make the child report to this runner instead)
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...SUITES], {
      cwd: root, env: { ...env, PALISADE_COLLECTOR_ATTACH: 'raw_tracepoint' }, encoding: 'utf8', timeout: 480_000,
    });
    const pass = Number(/^# pass (\d+)/m.exec(r.stdout)?.[1] ?? -1);
    const fail = Number(/^# fail (\d+)/m.exec(r.stdout)?.[1] ?? -1);
    assert.equal(fail, 0, `failures in raw_tracepoint mode:\n${r.stdout.split('\n').filter((l) => /not ok|error|Error/.test(l)).slice(0, 40).join('\n')}\n${r.stderr.slice(-2000)}`);
    assert.ok(pass >= 13, `the suites ran (${pass} passed)`);
    assert.equal(r.status, 0);
  });
});
