// The CLI commands of the collector: `palisade probe --json` and `palisade trace --json`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TMP } from './harness.js';

const CLI = ['--import', 'tsx', 'cli/main.ts'];

describe('palisade probe', () => {
  it('reports every program type as ok or an errno name, JSON with --json', () => {
    const r = spawnSync(process.execPath, [...CLI, 'probe', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { btf: boolean; programs: Record<string, { load: string; attach: string }>; fanotify: { init: string } };
    assert.equal(rep.btf, true);
    for (const k of ['raw_tracepoint', 'tracepoint', 'tp_btf', 'ringbuf', 'kprobe', 'fentry', 'lsm', 'cgroup_sock', 'cgroup_sock_addr']) {
      const p = rep.programs[k];
      assert.ok(p, `program ${k} probed`);
      assert.match(p.load, /^(ok|E[A-Z0-9]+)$/);
      assert.match(p.attach, /^(ok|skipped|E[A-Z0-9]+|no cgroup2 mount)$/);
    }
    // the collector itself needs these
    assert.equal(rep.programs.raw_tracepoint?.load, 'ok');
    assert.equal(rep.programs.raw_tracepoint?.attach, 'ok');
    assert.equal(rep.programs.ringbuf?.load, 'ok');
    assert.equal(rep.programs.tp_btf?.load, 'ok');
    assert.equal(rep.programs.tp_btf?.attach, 'ok');
    assert.match(rep.fanotify.init, /^(ok|E[A-Z]+)$/);
  });

  it('rejects an unknown option with exit code 2', () => {
    const r = spawnSync(process.execPath, [...CLI, 'probe', '--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bogus/);
  });
});

describe('palisade trace', () => {
  it('prints JSON lines with the absolute path, pid and result of a file open, and stops on SIGINT', async () => {
    const dir = mkdtempSync(join(TMP, 'trace-'));
    const marker = join(dir, 'trace-marker');
    writeFileSync(marker, 'x');
    const child = spawn(process.execPath, [...CLI, 'trace', '--json', '--class', 'file', '--container', 'host', '--stats'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const lines = createInterface({ input: child.stdout });
    let found: Record<string, unknown> | undefined;
    const seen = new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        const ev = JSON.parse(line) as Record<string, unknown>;
        if (ev.path === marker && ev.comm === 'cat') { found = ev; resolve(); }
      });
    });
    // trigger opens until trace shows one (bounded: 100 tries)
    let catPid = 0;
    for (let i = 0; i < 100 && !found; i++) {
      const r = spawnSync('/bin/cat', [marker]);
      catPid = r.pid ?? 0;
      await Promise.race([seen, new Promise((r2) => setTimeout(r2, 200))]);
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    rmSync(dir, { recursive: true, force: true });
    assert.ok(found, `trace printed the open of ${marker}; stderr: ${stderr}`);
    assert.equal(found.kind, 'file');
    assert.equal(found.op, 'open');
    assert.equal(found.container, null);
    assert.equal(typeof found.pid, 'number');
    assert.ok((found.result as number) >= 0);
    assert.ok(catPid > 0);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /events, lost \d+/);
  });

  it('names a bad option value and exits 2', () => {
    const r = spawnSync(process.execPath, [...CLI, 'trace', '--class', 'disk'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--class: unknown class 'disk'/);
  });
});
