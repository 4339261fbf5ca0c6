// createNodeAgent on the real kernel (BPF collector) against a real in-process relay: a
// Block policy on a temp file yields an alert that states the truth (Action Block, Result
// Passed: nothing enforces yet), the startup notice says enforcement is not active, and
// stop() flushes everything to the relay (nothing unacked). Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { LogServiceClient, type Alert, type Log, type Message } from '../../../proto/gen/feeder/kubearmor.js';
import { createServer, type AddressInfo } from 'node:net';
import { defaultConfig } from '../../../relay/config.js';
import { createRelay } from '../../../relay/relay.js';
import { createNodeAgent } from '../../../enforcer/agent/agent.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { BUSYBOX_IMAGE, ensureImage, execBounded, startContainer } from '../../support/podman.js';

const TMP = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', `agent-it-${process.pid}`);

test('node agent: real events, honest Block alert, enforcement notice, flushed stop', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const target = join(realpathSync(TMP), 'blocked.txt');
  writeFileSync(target, 'x\n');
  const { policies, issues } = loadPolicySource(`apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: it-block-file
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  file:
    matchPaths:
    - path: ${target}
  action: Block
`, 'it.yaml');
  assert.deepEqual(issues, []);
  const d = defaultConfig();
  const relay = createRelay({
    ...d, logLevel: 'silent', ingest: { ...d.ingest, listen: '127.0.0.1:0' }, logStream: { ...d.logStream, listen: '127.0.0.1:0' },
    throttle: { ...d.throttle, enabled: false, collapseWindowMs: 0 },
  }, { log: pino({ level: 'silent' }) });
  const addrs = await relay.start();
  const client = new LogServiceClient(`127.0.0.1:${addrs.logStreamPort}`, credentials.createInsecure());
  const alerts: Alert[] = [];
  const messages: Message[] = [];
  const ca = client.watchAlerts({ Filter: 'all' }, new Metadata());
  ca.on('data', (a: Alert) => alerts.push(a));
  ca.on('error', () => undefined);
  const cm = client.watchMessages({ Filter: 'all' }, new Metadata());
  cm.on('data', (m: Message) => messages.push(m));
  cm.on('error', () => undefined);
  for (let i = 0; i < 200 && relay.activeWatchStreams < 2; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(relay.activeWatchStreams, 2);

  const agent = createNodeAgent({
    relayAddress: `127.0.0.1:${addrs.ingestPort}`, policies, logs: false, nodeId: 'it-node', log: pino({ level: 'silent' }), stateDir: join(TMP, 'state'),
    collector: { pollMs: 5 },
  });
  try {
    await agent.start();
    let alert: Alert | undefined;
    for (let i = 0; i < 60 && !alert; i++) {
      assert.equal(spawnSync('cat', [target], { encoding: 'utf8' }).stdout, 'x\n');
      await new Promise((r) => setTimeout(r, 250));
      alert = alerts.find((a) => a.PolicyName === 'it-block-file' && a.Resource === target);
    }
    assert.ok(alert, 'an alert for the Block rule');
    assert.equal(alert.Action, 'Block', 'the policy says Block');
    assert.equal(alert.Result, 'Passed', 'and the open really passed: no enforcement backend');
    assert.equal(alert.Enforcer, 'eBPF Monitor');
    assert.equal(alert.Type, 'MatchedHostPolicy');
    assert.equal(alert.Operation, 'File');
    const started = messages.find((m) => m.Type === 'AgentStarted');
    assert.ok(started, 'the startup notice');
    assert.match(started.Message, /enforcement is NOT active/);

    const st = await agent.stop(5000);
    assert.equal(st.unsentAtStop, 0);
    assert.equal(st.outbox.ackedSeq, st.outbox.lastSeq, 'every seq acked by the relay');
    assert.equal(relay.counters.get('palisade_relay_ingest_events_total'), Number(st.outbox.lastSeq));
    assert.ok(st.alerts >= 1);
    assert.equal(st.logs, 0, 'logs off: alerts and notices only');
    for (let i = 0; i < 100 && !messages.some((m) => m.Type === 'AgentStopped'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(messages.some((m) => m.Type === 'AgentStopped'), 'the stop notice reached the relay before stop() returned');
  } finally {
    await agent.stop(1000);
    ca.cancel();
    cm.cancel();
    client.close();
    await relay.stop(2000);
    rmSync(TMP, { recursive: true, force: true });
  }
});

test('node agent, standalone containers: KubeArmor container policy by container name (real podman)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  await ensureImage('busybox');
  const ctr = await startContainer(BUSYBOX_IMAGE, ['sleep', '120']);
  const d = defaultConfig();
  const relay = createRelay({
    ...d, logLevel: 'silent', ingest: { ...d.ingest, listen: '127.0.0.1:0' }, logStream: { ...d.logStream, listen: '127.0.0.1:0' },
    throttle: { ...d.throttle, enabled: false, collapseWindowMs: 0 },
  }, { log: pino({ level: 'silent' }) });
  const addrs = await relay.start();
  const client = new LogServiceClient(`127.0.0.1:${addrs.logStreamPort}`, credentials.createInsecure());
  const alerts: Alert[] = [];
  const ca = client.watchAlerts({ Filter: 'all' }, new Metadata());
  ca.on('data', (a: Alert) => alerts.push(a));
  ca.on('error', () => undefined);
  const { policies, issues } = loadPolicySource(`apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: it-container-hostname
spec:
  selector:
    matchLabels:
      kubearmor.io/container.name: ${ctr.name}
  file:
    matchPaths:
    - path: /etc/hostname
  action: Audit
`, 'ctr.yaml');
  assert.deepEqual(issues, []);
  const agent = createNodeAgent({
    relayAddress: `127.0.0.1:${addrs.ingestPort}`, policies, logs: false, nodeId: 'it-node-ctr', log: pino({ level: 'silent' }), collector: { pollMs: 5 }, stateDir: null,
  });
  try {
    await agent.start();
    let alert: Alert | undefined;
    for (let i = 0; i < 40 && !alert; i++) {
      const r = await execBounded('podman', ['exec', ctr.name, 'cat', '/etc/hostname'], 30_000);
      assert.equal(r.code, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 250));
      alert = alerts.find((a) => a.PolicyName === 'it-container-hostname');
    }
    assert.ok(alert, 'an alert for the container policy');
    assert.equal(alert.Type, 'MatchedPolicy');
    assert.equal(alert.ContainerID, ctr.id);
    assert.equal(alert.ContainerName, ctr.name);
    assert.equal(alert.NamespaceName, 'container_namespace');
    assert.equal(alert.ContainerImage, BUSYBOX_IMAGE);
    assert.equal(alert.Resource, '/etc/hostname');
    assert.equal(alert.Action, 'Audit');
    assert.equal(alert.Result, 'Passed');
    assert.ok(alert.PID > 0 && alert.PID !== alert.HostPID, `namespace pid ${alert.PID} differs from host pid ${alert.HostPID}`);
    // the same file read on the host is not selected by the container policy
    spawnSync('cat', ['/etc/hostname']);
    const st = await agent.stop(5000);
    assert.equal(st.unsentAtStop, 0);
    assert.ok(alerts.every((a) => a.PolicyName !== 'it-container-hostname' || a.ContainerID === ctr.id));
  } finally {
    await agent.stop(1000);
    ca.cancel();
    client.close();
    await relay.stop(2000);
    await ctr.stop();
  }
});

test('node agent logs from real events: TCP connect, failed open, exec with arguments', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const d = defaultConfig();
  const relay = createRelay({
    ...d, logLevel: 'silent', ingest: { ...d.ingest, listen: '127.0.0.1:0' }, logStream: { ...d.logStream, listen: '127.0.0.1:0' },
  }, { log: pino({ level: 'silent' }) });
  const addrs = await relay.start();
  const client = new LogServiceClient(`127.0.0.1:${addrs.logStreamPort}`, credentials.createInsecure());
  const logs: Log[] = [];
  const cl = client.watchLogs({ Filter: 'system' }, new Metadata());
  cl.on('data', (l: Log) => logs.push(l));
  cl.on('error', () => undefined);
  for (let i = 0; i < 200 && relay.activeWatchStreams < 1; i++) await new Promise((r) => setTimeout(r, 25));
  const srv = createServer((sock) => sock.end());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  const missing = `/nonexistent-palisade-${process.pid}`;
  const agent = createNodeAgent({
    relayAddress: `127.0.0.1:${addrs.ingestPort}`, policies: [], nodeId: 'it-node-logs', log: pino({ level: 'silent' }), collector: { pollMs: 5 }, stateDir: null,
  });
  try {
    await agent.start();
    let found: { conn: Log; open: Log; exec: Log } | undefined;
    for (let i = 0; i < 40 && !found; i++) {
      spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; cat ${missing} 2>/dev/null; exit 0`]);
      await new Promise((r) => setTimeout(r, 250));
      const conn = logs.find((l) => l.Operation === 'Network' && l.Resource === `remoteip=127.0.0.1 port=${port} protocol=TCP`);
      const open = logs.find((l) => l.Operation === 'File' && l.Resource === missing);
      const exec = logs.find((l) => l.Operation === 'Process' && l.Resource === `${realpathSync('/usr/bin/cat')} ${missing}`);
      if (conn && open && exec) found = { conn, open, exec };
    }
    assert.ok(found, `connect, open and exec logs (got ${logs.length} logs)`);
    assert.match(found.conn.Data, /^syscall=SYS_CONNECT fd=\d+$/);
    assert.equal(found.conn.Result, 'Passed');
    assert.equal(found.conn.ProcessName, realpathSync('/bin/bash'));
    assert.equal(found.open.Result, 'No such file or directory');
    assert.match(found.open.Data, /^syscall=SYS_OPENAT fd=-100 flags=O_RDONLY/);
    assert.equal(found.open.ProcessName, realpathSync('/usr/bin/cat'));
    assert.equal(found.open.Source, `${realpathSync('/usr/bin/cat')} ${missing}`);
    assert.equal(found.exec.Data, 'syscall=SYS_EXECVE');
    assert.equal(found.exec.ParentProcessName, realpathSync('/bin/bash'));
    assert.equal(found.exec.Source, realpathSync('/bin/bash'));
    assert.ok(logs.every((l) => l.HostPID !== process.pid), 'nothing of the agent itself');
  } finally {
    await agent.stop(2000);
    srv.close();
    cl.cancel();
    client.close();
    await relay.stop(2000);
  }
});
