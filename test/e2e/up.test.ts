// End to end: the real `palisade` binary (dist/cli/main.js up) on this host — real BPF,
// the in-process relay, a real feeder.LogService client (generated code). An audit
// policy on a temp directory must produce an Alert for `cat <file>`, `/bin/true` must
// produce a Process log, and SIGINT must end the process cleanly (exit code 0).
// Needs root. Builds only when dist/ lacks the up command (npx tsc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import { LogServiceClient, type Alert, type Log } from '../../proto/gen/feeder/kubearmor.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const TMP = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', `e2e-up-${process.pid}`);

function ensureBuilt(): void {
  if (existsSync(MAIN) && existsSync(join(ROOT, 'dist', 'cli', 'commands', 'up.js'))) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (!existsSync(join(ROOT, 'dist', 'cli', 'commands', 'up.js'))) throw new Error(`npx tsc did not produce dist/cli/commands/up.js: ${r.stdout}${r.stderr}`);
}

type Up = { child: ChildProcessWithoutNullStreams; stdout: string[]; stderr: string; exit: Promise<number | null> };

function startUp(args: string[]): Up {
  const child = spawn(process.execPath, [MAIN, 'up', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const up: Up = { child, stdout: [], stderr: '', exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) { up.stdout.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  });
  child.stderr.on('data', (d: Buffer) => { up.stderr += d.toString(); });
  return up;
}

/** Polls (bounded: `max` times `everyMs`) until cond() returns a value. */
async function poll<T>(cond: () => T | undefined, what: string, up: Up, max = 240, everyMs = 250): Promise<T> {
  for (let i = 0; i < max; i++) {
    const v = cond();
    if (v !== undefined) return v;
    if (up.child.exitCode !== null) throw new Error(`palisade up exited (${up.child.exitCode}) while waiting for ${what}:\n${up.stderr.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}; stderr:\n${up.stderr.slice(-3000)}`);
}

test('palisade up: audit alert for a policy, process log for /bin/true, clean exit on SIGINT', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  ensureBuilt();
  rmSync(TMP, { recursive: true, force: true });
  const watched = join(TMP, 'watched');
  mkdirSync(watched, { recursive: true });
  const secret = join(watched, 'secret.txt');
  writeFileSync(secret, 'not really a secret\n');
  const policy = join(TMP, 'policy.yaml');
  writeFileSync(policy, `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: e2e-audit-watched
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  severity: 5
  tags: [e2e]
  message: watched directory read
  file:
    matchDirectories:
    - dir: ${watched}/
      recursive: true
  action: Audit
`);
  const up = startUp(['--log-stream', '127.0.0.1:0', '--policy', policy, '--json', '--stats-interval', '0', '--state-dir', join(TMP, 'state')]);
  let client: LogServiceClient | undefined;
  const calls: ClientReadableStream<Alert | Log>[] = [];
  try {
    const serving = await poll(() => {
      for (const line of up.stdout) {
        try {
          const o = JSON.parse(line) as { event?: string; logStreamPort?: number };
          if (o.event === 'serving') return o;
        } catch {
          continue; // not a JSON line
        }
      }
      return undefined;
    }, 'the serving report', up);
    assert.ok(typeof serving.logStreamPort === 'number' && serving.logStreamPort > 0);

    client = new LogServiceClient(`127.0.0.1:${serving.logStreamPort}`, credentials.createInsecure());
    const alerts: Alert[] = [];
    const logs: Log[] = [];
    const ca = client.watchAlerts({ Filter: 'policy' }, new Metadata());
    ca.on('data', (a: Alert) => alerts.push(a));
    ca.on('error', () => undefined); // the stream ends when palisade stops
    const cl = client.watchLogs({ Filter: 'system' }, new Metadata());
    cl.on('data', (l: Log) => logs.push(l));
    cl.on('error', () => undefined);
    calls.push(ca, cl);

    const cat = realpathSync('/usr/bin/cat');
    const truePath = realpathSync('/bin/true');
    // Watch streams start "from now": repeat the actions until both are seen (bounded).
    const found = await poll(() => {
      const alert = alerts.find((a) => a.PolicyName === 'e2e-audit-watched' && a.Resource === secret && a.Operation === 'File');
      const log = logs.find((l) => l.Operation === 'Process' && l.Resource === truePath);
      if (alert && log) return { alert, log };
      const c = spawnSync('cat', [secret], { encoding: 'utf8' });
      assert.equal(c.stdout, 'not really a secret\n');
      spawnSync('/bin/true');
      return undefined;
    }, 'the audit alert and the /bin/true log', up, 120, 500);

    const { alert, log } = found;
    assert.equal(alert.Type, 'MatchedHostPolicy');
    assert.equal(alert.Action, 'Audit');
    assert.equal(alert.Enforcer, 'eBPF Monitor');
    assert.equal(alert.Result, 'Passed');
    assert.equal(alert.Severity, '5');
    assert.equal(alert.Tags, 'e2e');
    assert.match(alert.Message, /^watched directory read/); // the relay may have collapsed repeats into one alert
    assert.equal(alert.ProcessName, cat);
    assert.match(alert.Data, /^syscall=SYS_OPEN(AT)? .*flags=O_RDONLY/);
    assert.equal(alert.ContainerID, '');
    assert.ok(alert.HostPID > 0);
    assert.ok(alert.HostName.length > 0);
    assert.equal(alert.ClusterName, 'default');
    assert.equal(log.Type, 'HostLog');
    assert.equal(log.Result, 'Passed');
    assert.equal(log.ProcessName, truePath);
    assert.match(log.Data, /^syscall=SYS_EXECVE/);
    assert.ok(log.HostPID > 0);
    // nothing of palisade itself (excludeSelf): no log has its pid
    assert.equal(logs.filter((l) => l.HostPID === up.child.pid).length, 0);

    up.child.kill('SIGINT');
    const code = await Promise.race([up.exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    assert.equal(code, 0, `exit code; stderr:\n${up.stderr.slice(-3000)}`);
    const stopped = up.stdout.map((l) => { try { return JSON.parse(l) as { event?: string; relayConnected?: boolean }; } catch { return {}; } })
      .find((o) => o.event === 'stopped');
    assert.ok(stopped, 'a final stopped report');
    // the embedded relay acked the agent's batches only once spooled, under --state-dir
    const spoolDir = join(TMP, 'state', 'relay-spool');
    const spooled = readdirSync(spoolDir).filter((f) => f !== 'LOCK').reduce((n, f) => n + statSync(join(spoolDir, f)).size, 0);
    assert.ok(spooled > 1000, `the relay spool ${spoolDir} holds the batches (${spooled} bytes)`);
  } finally {
    for (const c of calls) c.cancel();
    client?.close();
    if (up.child.exitCode === null) {
      up.child.kill('SIGKILL');
      await up.exit;
    }
    rmSync(TMP, { recursive: true, force: true });
  }
});

test('palisade up: invalid policy or address is refused with exit code 2 before anything starts', async () => {
  ensureBuilt();
  mkdirSync(TMP, { recursive: true });
  const bad = join(TMP, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: bad\nspec:\n  file:\n    matchPaths:\n    - path: relative/path\n  action: Audit\n');
  try {
    const r = spawnSync(process.execPath, [MAIN, 'up', '--policy', bad], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid policies/);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+`));
    const r2 = spawnSync(process.execPath, [MAIN, 'up', '--log-stream', 'nowhere'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /--log-stream: 'nowhere' is not host:port/);
  } finally {
    rmSync(TMP, { recursive: true, force: true });
  }
});

test('palisade up: without root it names what is missing and exits 1', { skip: process.getuid?.() !== 0 ? 'needs root to switch to nobody' : false }, () => {
  ensureBuilt();
  const r = spawnSync(process.execPath, [MAIN, 'up', '--log-stream', '127.0.0.1:0'], { cwd: '/tmp', uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot observe this host; missing:/);
  assert.match(r.stderr, /root privileges \(it loads eBPF programs\)/);
});

test('palisade up: a busy log-stream port or an unloadable BPF object fails with exit 1 and says why', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  ensureBuilt();
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  const bad = join(TMP, 'badbpf');
  try {
    const r = spawnSync(process.execPath, [MAIN, 'up', '--log-stream', `127.0.0.1:${port}`, '--state-dir', join(TMP, 'state')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot start the relay: cannot listen on 127\\.0\\.0\\.1:${port}`));
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'palisade.bpf.o'), 'not an ELF object\n');
    const r2 = spawnSync(process.execPath, [MAIN, 'up', '--log-stream', '127.0.0.1:0', '--state-dir', join(TMP, 'state')], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PALISADE_BPF_DIR: bad } });
    assert.equal(r2.status, 1, r2.stderr);
    assert.match(r2.stderr, /cannot start the node agent: .*bpf_object__open_file failed/);
  } finally {
    srv.close();
    rmSync(TMP, { recursive: true, force: true });
  }
});
