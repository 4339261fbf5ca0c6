// createNodeAgent with its default event classes: a policy with capability rules turns the
// collector's capability class on by itself (capability checks are frequent, so it is off
// otherwise), and a real CAP_NET_RAW check reaches a real relay as a Capabilities alert.
// Without capability rules the class stays off. Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { LogServiceClient, type Alert, type Message } from '../../../proto/gen/feeder/kubearmor.js';
import { defaultConfig } from '../../../relay/config.js';
import { createRelay } from '../../../relay/relay.js';
import { createNodeAgent } from '../../../enforcer/agent/agent.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { buildProg } from '../collector/harness.js';

const TMP = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', `agent-cap-${process.pid}`);
const root = process.getuid?.() === 0;

const policyYaml = (prog: string): string => `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: audit-raw-sockets
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  capabilities:
    matchCapabilities:
    - capability: net_raw
      fromSource:
      - path: ${prog}
  action: Audit
`;

const fileOnlyYaml = `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: audit-shadow
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  file:
    matchPaths:
    - path: /etc/shadow
  action: Audit
`;

async function withAgentAndRelay(yaml: string, body: (alerts: Alert[], messages: Message[], nodeId: string) => Promise<void>): Promise<void> {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const { policies, issues } = loadPolicySource(yaml, 'cap.yaml');
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
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
  const nodeId = `cap-node-${process.pid}`;
  const agent = createNodeAgent({
    relayAddress: `127.0.0.1:${addrs.ingestPort}`, policies, logs: false, nodeId, log: pino({ level: 'silent' }), stateDir: join(TMP, 'state'),
    collector: { pollMs: 5 },
  });
  try {
    await agent.start();
    await body(alerts, messages, nodeId);
  } finally {
    await agent.stop(1000);
    ca.cancel();
    cm.cancel();
    client.close();
    await relay.stop(2000);
    rmSync(TMP, { recursive: true, force: true });
  }
}

test('node agent: a capability rule turns capability events on; a CAP_NET_RAW check becomes an alert', { skip: root ? false : 'needs root' }, async () => {
  const prog = realpathSync(buildProg('capcheck'));
  await withAgentAndRelay(policyYaml(prog), async (alerts, messages) => {
    let alert: Alert | undefined;
    for (let i = 0; i < 40 && !alert; i++) {
      const r = spawnSync(prog, ['raw'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 250));
      alert = alerts.find((a) => a.PolicyName === 'audit-raw-sockets');
    }
    assert.ok(alert, 'an alert for the capability rule');
    assert.equal(alert.Operation, 'Capabilities');
    assert.equal(alert.Resource, 'CAP_NET_RAW');
    assert.equal(alert.Action, 'Audit');
    assert.equal(alert.Result, 'Passed');
    assert.equal(alert.ProcessName, prog);
    const started = messages.find((m) => m.Type === 'AgentStarted');
    assert.ok(started, 'the startup notice');
    assert.match(started.Message, /observing process, file, network, capability/);
  });
});

test('node agent: without capability rules the capability class stays off', { skip: root ? false : 'needs root' }, async () => {
  await withAgentAndRelay(fileOnlyYaml, async (_alerts, messages) => {
    let started: Message | undefined;
    for (let i = 0; i < 100 && !started; i++) {
      await new Promise((res) => setTimeout(res, 50));
      started = messages.find((m) => m.Type === 'AgentStarted');
    }
    assert.ok(started, 'the startup notice');
    assert.match(started.Message, /observing process, file, network with 1 policies/);
  });
});
