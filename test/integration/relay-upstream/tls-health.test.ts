// TLS to agents (mutual TLS here, certificates from relay/tls/issue.ts), and the
// periodic HealthCheck that notices an agent that stopped answering (a dead peer
// sends no FIN; only a deadline notices it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { issueCa, issueLeaf } from '../../../relay/tls/issue.js';
import { createUpstreams } from '../../../relay/upstream/index.js';
import { until, Watcher, watchersReady } from '../relay/support.js';
import { FakeAgent } from './fake-agent.js';
import { startRig, upstreamConfig, type Rig } from './harness.js';

function tmpDir(): string {
  const root = process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test';
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, 'relay-upstream-'));
}

describe('relay/upstream: mutual TLS to an agent', () => {
  const dir = tmpDir();
  const ca = issueCa({ commonName: 'kubearmor-test-ca' }, 2);
  const server = issueLeaf(ca, { subject: { commonName: 'kubearmor-agent' }, days: 2, usage: 'server', names: ['kubearmor-agent'] });
  const client = issueLeaf(ca, { subject: { commonName: 'palisade-relay' }, days: 2, usage: 'client' });
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, client.cert);
  writeFileSync(files.key, client.key, { mode: 0o600 });
  const agent = new FakeAgent('127.0.0.1', ServerCredentials.createSsl(Buffer.from(ca.cert), [{ cert_chain: Buffer.from(server.cert), private_key: Buffer.from(server.key) }], true));
  let rig: Rig;
  let alerts: Watcher<Alert>;

  before(async () => {
    await agent.start();
    rig = await startRig(upstreamConfig({
      addresses: [agent.address],
      tls: { enabled: true, caFile: files.ca, certFile: files.cert, keyFile: files.key, serverName: 'kubearmor-agent' },
    }));
    alerts = new Watcher<Alert>(rig.logStream, 'watchAlerts', 'all');
    await watchersReady(rig.relay, 1);
  });

  after(async () => {
    alerts.close();
    await rig.close();
    agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls over mutual TLS, verifying the agent as serverName', async () => {
    await until(() => agent.watchers === 3, 'three TLS streams on the agent');
    agent.alert({ Resource: '/tls', Type: 'MatchedPolicy', Timestamp: 1n });
    await until(() => alerts.got.length === 1, 'the alert over TLS');
    assert.equal(alerts.got[0]?.Resource, '/tls');
  });

  it('fails (counted) without a client certificate, or with the wrong expected name, or in plaintext', async () => {
    const variants = [
      { enabled: true, caFile: files.ca, certFile: '', keyFile: '', serverName: 'kubearmor-agent' },
      { enabled: true, caFile: files.ca, certFile: files.cert, keyFile: files.key, serverName: 'not-the-agent' },
      { enabled: false, caFile: '', certFile: '', keyFile: '', serverName: '' },
    ];
    for (const tls of variants) {
      const ups = createUpstreams(upstreamConfig({ addresses: [agent.address], tls }), { sink: rig.pipeline, counters: rig.relay.counters, clusterName: 'x', log: pino({ level: 'silent' }) });
      ups.start();
      await until(() => (ups.stats()[0]?.failures ?? 0) >= 2, `two failed attempts with ${JSON.stringify(tls)}`);
      assert.equal(ups.stats()[0]?.connects, 0);
      await ups.stop(1_000);
    }
    assert.equal(agent.watchers, 3); // only the properly configured upstream streams
  });

  it('refuses unreadable TLS files at creation, naming the field', () => {
    assert.throws(
      () => createUpstreams(upstreamConfig({ addresses: [agent.address], tls: { enabled: true, caFile: join(dir, 'missing.crt'), certFile: '', keyFile: '', serverName: '' } }), { sink: rig.pipeline, counters: rig.relay.counters, clusterName: 'x' }),
      /upstream\.tls\.caFile/,
    );
  });
});

describe('relay/upstream: periodic HealthCheck', () => {
  const agent = new FakeAgent();
  let rig: Rig;

  before(async () => {
    await agent.start();
    rig = await startRig(upstreamConfig({ addresses: [agent.address], healthCheckIntervalMs: 100, healthCheckTimeoutMs: 300 }));
    await until(() => agent.watchers === 3, 'streams on the agent');
  });

  after(async () => {
    await rig.close();
    agent.stop();
  });

  it('ends the session when the agent stops answering HealthCheck, and reconnects when it answers again', async () => {
    agent.hangHealthCheck = true;
    const reason = { upstream: agent.address, reason: 'health_check_deadline_exceeded' };
    await until(() => rig.relay.counters.get('palisade_relay_upstream_failures_total', reason) >= 2, 'two HealthCheck deadlines');
    const s = rig.upstreams.stats()[0];
    assert.equal(s?.connects, 1);
    assert.notEqual(s?.state, 'streaming');
    assert.equal(agent.watchers, 0); // the failed session's streams were cancelled
    agent.hangHealthCheck = false;
    await until(() => rig.upstreams.stats()[0]?.connects === 2 && agent.watchers === 3, 'a new session');
  });

  it('stop() closes every stream on the agent and is idempotent', async () => {
    await rig.upstreams.stop(1_000);
    await rig.upstreams.stop(1_000);
    await until(() => agent.watchers === 0, 'the agent to see its streams closed');
    assert.deepEqual(rig.upstreams.stats(), []);
  });
});
