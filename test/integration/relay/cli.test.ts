// The `palisade relay` and `palisade logs` commands as processes: the relay
// started with flags, a simulated enforcer, and `palisade logs --json` printing the
// alerts in KubeArmor's JSON; configuration errors name the field and the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Enforcer, until } from './support.js';

const root = new URL('../../../', import.meta.url).pathname;
const palisade = (args: string[], env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
const palisadeSync = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

test('palisade relay + palisade logs --json: alerts printed with KubeArmor field names', async () => {
  // a fresh spool directory: the relay spools by default, and a spool remembers (node, boot) seqs across runs
  const spoolDir = mkdtempSync(join(process.env.PALISADE_TEST_TMP ?? '/tmp', 'relay-cli-spool-'));
  const relay = palisade(['relay', '--ingest-listen', '127.0.0.1:0', '--log-stream-listen', '127.0.0.1:0', '--cluster-name', 'demo', '--throttle-collapse-window-ms', '0', '--throttle-enabled', 'false', '--spool-dir', spoolDir]);
  let out = '';
  relay.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  let relayErr = '';
  relay.stderr!.on('data', (b: Buffer) => { relayErr += b.toString(); });
  const exited = new Promise<number | null>((r) => relay.on('exit', (code) => r(code)));
  await until(() => out.includes('relay serving') || relay.exitCode !== null, 'relay started', 1200);
  assert.ok(out.includes('relay serving'), relayErr);
  const line = JSON.parse(out.split('\n').find((l) => l.includes('relay serving'))!) as { ingestPort: number; logStreamPort: number };

  const logs = palisade(['logs', '--gRPC', `127.0.0.1:${line.logStreamPort}`, '--json', '--limit', '2']);
  let printed = '';
  logs.stdout!.on('data', (b: Buffer) => { printed += b.toString(); });
  const logsExit = new Promise<number | null>((r) => logs.on('exit', (code) => r(code)));
  const e = new Enforcer(`127.0.0.1:${line.ingestPort}`, 'node-cli').open();
  e.hello();
  // keep sending until the client (which may still be connecting) has printed two alerts
  let seq = 0;
  for (let i = 0; i < 400 && logs.exitCode === null; i++) {
    e.alerts(seq + 1, seq + 1, () => ({ NamespaceName: 'default', PodName: 'nginx-1', Labels: 'app=nginx', Action: 'Block', Result: 'Permission denied', Operation: 'Process', Resource: '/usr/bin/apt update', Data: 'syscall=SYS_EXECVE', Enforcer: 'BPFLSM', PID: 855, HostPID: 4191928, PolicyName: 'block-pkg-mgmt-tools-exec', Severity: '1', UpdatedTime: '2023-10-10T19:03:08Z' }));
    seq++;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (logs.exitCode === null) {
    logs.kill('SIGKILL');
    relay.kill('SIGKILL');
    assert.fail(`palisade logs printed nothing in time; acked ${e.acked()}; logs output: ${printed}`);
  }
  assert.equal(await logsExit, 0);
  const docs = printed.trim().split(/\n(?=\{)/).map((s) => JSON.parse(s) as Record<string, unknown>);
  assert.equal(docs.length, 2);
  const a = docs[0]!;
  assert.deepEqual(Object.keys(a), ['Timestamp', 'UpdatedTime', 'ClusterName', 'HostName', 'NamespaceName', 'PodName', 'Labels', 'ContainerID', 'HostPID', 'PID', 'PolicyName', 'Severity', 'Type', 'Source', 'Operation', 'Resource', 'Data', 'Enforcer', 'Action', 'Result'].filter((k) => k !== 'Source'));
  assert.equal(a['ClusterName'], 'demo');
  assert.equal(a['HostName'], 'node-cli');
  assert.equal(a['Action'], 'Block');
  assert.equal(a['Result'], 'Permission denied');
  assert.equal(typeof a['Timestamp'], 'number');
  assert.match(printed, /^\{\n {4}"Timestamp": \d+,\n {4}"UpdatedTime": "2023-10-10T19:03:08Z",/);
  e.close();
  relay.kill('SIGTERM');
  assert.equal(await exited, 0, 'clean shutdown on SIGTERM');
  // the acked alerts went through the spool
  const spooled = readdirSync(spoolDir).filter((f) => f !== 'LOCK').reduce((n, f) => n + statSync(join(spoolDir, f)).size, 0);
  assert.ok(spooled > 200, `spool ${spoolDir} holds the batches (${spooled} bytes)`);
  rmSync(spoolDir, { recursive: true, force: true });
});

test('configuration errors name the field and where it came from (exit 2)', () => {
  const r1 = palisadeSync(['relay', '--log-stream-listen', 'nowhere']);
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /flag --log-stream-listen: logStream.listen: expected host:port/);
  const r2 = palisadeSync(['relay'], { PALISADE_RELAY_THROTTLE_ENABLED: 'maybe' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /env PALISADE_RELAY_THROTTLE_ENABLED: throttle.enabled: expected true or false/);
  const r3 = palisadeSync(['relay', '--no-such-flag']);
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /no-such-flag/);
  const r4 = palisadeSync(['logs', '--logFilter', 'everything']);
  assert.equal(r4.status, 2);
  assert.match(r4.stderr, /--logFilter "everything": expected policy, system or all/);
  const r5 = palisadeSync(['relay', '--help']);
  assert.equal(r5.status, 0);
  assert.match(r5.stdout, /--log-stream-listen .*default "0.0.0.0:32767"; env PALISADE_RELAY_LOG_STREAM_LISTEN/);
});

test('palisade logs against a relay that is not there: exit 1, the address named, no grpc-js noise', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const r6 = palisadeSync(['logs', '--gRPC', `127.0.0.1:${closedPort}`, '--limit', '1']);
  assert.equal(r6.status, 1, r6.stderr);
  assert.match(r6.stderr, new RegExp(`^palisade logs: cannot reach the relay at 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`, 'm'));
  assert.doesNotMatch(r6.stderr, /Resolution note|Error: connect/);
});

test('a relay that cannot start says why (exit 1)', () => {
  const r = palisadeSync(['relay', '--ingest-listen', '127.0.0.1:0', '--log-stream-listen', '127.0.0.1:0', '--tls-cert-file', '/nonexistent/cert.pem', '--tls-key-file', '/nonexistent/key.pem']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot start: .*\/nonexistent\/cert.pem/);
});
