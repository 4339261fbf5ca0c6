// The CLI commands of the collector: `palisade probe --json` and `palisade trace --json`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildProg, TMP } from './harness.js';
import { BUSYBOX_IMAGE, ensureImage, startContainer } from '../../support/podman.js';
import { namespaceInode } from '../../../collector/namespaces.js';

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
    assert.equal((rep as { collectorAttach?: string }).collectorAttach, 'tp_btf', 'tp_btf loads and attaches here');
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

  it('names a bad namespace or attach mode and exits 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--mntns', '4026531840', '--mntns', 'mnt:[12x]'], /--mntns: 'mnt:\[12x\]' is not a mount namespace inode/],
      [['--pidns=-1'], /--pidns: '-1' is not a pid namespace inode/],
      [['--except-ns'], /--except-ns: needs --mntns or --pidns/],
      [['--attach', 'kprobe'], /--attach: 'kprobe' must be auto, tp_btf, raw_tracepoint/],
    ];
    for (const [argv, re] of cases) {
      const r = spawnSync(process.execPath, [...CLI, 'trace', ...argv], { encoding: 'utf8' });
      assert.equal(r.status, 2, argv.join(' '));
      assert.match(r.stderr, re);
    }
  });

  it('--mntns shows only the tasks of that mount namespace (filtered in the kernel)', async () => {
    const dir = mkdtempSync(join(TMP, 'trace-ns-'));
    const tester = buildProg('tester');
    // a tester in a new mount namespace, and one on the host, both opening dir/<tag>
    const start = (prefix: string[]): { child: ReturnType<typeof spawn>; ready: Promise<number>; run(tag: string): Promise<void> } => {
      const argv = [...prefix, tester, 'bursts', '20', dir];
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const waiting = new Map<string, () => void>();
      const ready = new Promise<number>((resolve) => lines.on('line', (l) => {
        if (l.startsWith('pid=')) resolve(Number(l.slice(4)));
        if (l.startsWith('done=')) waiting.get(l.slice(5))?.();
      }));
      return { child, ready, run: (tag) => new Promise((r) => { waiting.set(tag, r); child.stdin?.write(`${tag}\n`); }) };
    };
    const inNs = start(['unshare', '--mount', '--propagation', 'private']);
    const host = start([]);
    const nsPid = await inNs.ready, hostPid = await host.ready;
    const mnt = namespaceInode(nsPid, 'mnt');
    assert.ok(mnt !== undefined && mnt !== namespaceInode('self', 'mnt'));
    const trace = spawn(process.execPath, [...CLI, 'trace', '--json', '--class', 'file', '--mntns', String(mnt), '--stats'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    trace.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const seen: Array<Record<string, unknown>> = [];
    const waiters: Array<[string, () => void]> = [];
    createInterface({ input: trace.stdout }).on('line', (line) => {
      const ev = JSON.parse(line) as Record<string, unknown>;
      seen.push(ev);
      for (const [p, w] of waiters) if (ev.path === p) w();
    });
    const shown = (tag: string): Promise<void> => new Promise((r) => waiters.push([join(dir, tag), r]));
    // until trace is attached: ns bursts until one shows (bounded: 100 x 200 ms)
    let first = '';
    for (let i = 0; i < 100 && !first; i++) {
      const tag = `warm${i}`;
      const s = shown(tag);
      await inNs.run(tag);
      if (await Promise.race([s.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))])) first = tag;
    }
    assert.ok(first, `trace showed the namespace's opens; stderr: ${stderr}`);
    await host.run('host');
    const last = shown('after');
    await inNs.run('after');
    await Promise.race([last, new Promise((r) => setTimeout(r, 15_000))]);
    trace.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => trace.on('exit', (c) => resolve(c)));
    for (const t of [inNs, host]) { t.child.stdin?.end(); await once(t.child, 'exit'); }
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, stderr);
    assert.equal(seen.filter((e) => e.path === join(dir, 'after')).length, 20, 'every open after the host burst');
    assert.equal(seen.filter((e) => e.pid === hostPid).length, 0, 'no host-namespace event');
    assert.ok(seen.every((e) => e.mntNs === mnt), 'only the listed mount namespace');
    assert.match(stderr, /lost 0 .*attached as tp_btf/);
  });

  it('--container filters in the kernel by the container mount namespace', async () => {
    await ensureImage(BUSYBOX_IMAGE);
    const ctr = await startContainer(BUSYBOX_IMAGE, ['sh', '-c', 'while true; do cat /etc/hostname >/dev/null; sleep 0.2; done']);
    try {
      const mnt = namespaceInode(ctr.hostPid, 'mnt');
      const trace = spawn(process.execPath, [...CLI, 'trace', '--json', '--class', 'file', '--container', ctr.id.slice(0, 12), '--stats'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      trace.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const seen: Array<Record<string, unknown>> = [];
      const got = new Promise<void>((resolve) => createInterface({ input: trace.stdout }).on('line', (line) => {
        seen.push(JSON.parse(line) as Record<string, unknown>);
        if (seen.filter((e) => e.path === '/etc/hostname').length >= 3) resolve();
      }));
      await Promise.race([got, new Promise((r) => setTimeout(r, 20_000))]);
      trace.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => trace.on('exit', (c) => resolve(c)));
      assert.equal(code, 0, stderr);
      assert.ok(seen.filter((e) => e.path === '/etc/hostname').length >= 3, `the container's opens were shown; stderr: ${stderr}`);
      assert.ok(seen.every((e) => e.container === ctr.id && e.mntNs === mnt), 'only the container, in its mount namespace');
      assert.doesNotMatch(stderr, /user space only/);
      const filtered = Number(/filtered in the kernel (\d+)/.exec(stderr)?.[1] ?? -1);
      assert.ok(filtered > 0, `other tasks' events were filtered in the kernel (${filtered})`);
    } finally {
      await ctr.stop();
    }
  });
});
