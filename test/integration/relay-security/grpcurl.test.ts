// A generic gRPC client built only from the .proto files — grpcurl, built from Go
// modules by test/infra/grpcurl/setup.sh — streams alerts from the relay
// (createRelay, plaintext, loopback). Events enter through palisade.v1 Ingest from a
// simulated enforcer; grpcurl's JSON output (proto3 JSON mapping) is checked field
// by field, and the standard health service answers SERVING.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Enforcer, startRelay, until } from '../relay/support.js';
import type { Relay, RelayAddresses } from '../../../relay/relay.js';

const cache = process.env['PALISADE_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'palisade');
const GRPCURL = join(cache, 'bin', 'grpcurl');
const root = new URL('../../../', import.meta.url).pathname;

/** Splits grpcurl's stream of pretty-printed JSON objects (each closes with "}" alone on a line). */
function objects(text: string): { done: Record<string, unknown>[]; rest: string } {
  const done: Record<string, unknown>[] = [];
  let rest = text;
  for (let i = rest.indexOf('\n}\n'); i >= 0; i = rest.indexOf('\n}\n')) {
    done.push(JSON.parse(rest.slice(0, i + 2)) as Record<string, unknown>);
    rest = rest.slice(i + 3);
  }
  return { done, rest };
}

/** Runs grpcurl to completion without blocking the event loop (the relay is in this process); 30 s bound. */
function grpcurl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(GRPCURL, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
    c.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('grpcurl (only the .proto files) against the relay', { timeout: 120_000 }, () => {
  let relay: Relay;
  let addrs: RelayAddresses;
  let child: ChildProcess | undefined;

  before(async () => {
    assert.ok(existsSync(GRPCURL), `${GRPCURL} missing: run bash test/infra/services.sh setup grpcurl`);
    ({ relay, addrs } = await startRelay({ clusterName: 'grpcurl-cluster' }));
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    await relay?.stop(5_000);
  });

  it('streams WatchAlerts as JSON with KubeArmor field names', async () => {
    child = spawn(GRPCURL, ['-import-path', 'proto', '-proto', 'feeder/kubearmor.proto', '-plaintext', '-d', '{"Filter":"all"}',
      `127.0.0.1:${addrs.logStreamPort}`, 'feeder.LogService/WatchAlerts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const got: Record<string, unknown>[] = [];
    child.stdout?.on('data', (b: Buffer) => {
      const r = objects(out + b.toString('utf8'));
      out = r.rest;
      got.push(...r.done);
    });
    child.stderr?.on('data', (b: Buffer) => { err += b.toString('utf8'); });
    await until(() => relay.activeWatchStreams >= 1 || child?.exitCode !== null, 'grpcurl to subscribe');
    assert.equal(child.exitCode, null, `grpcurl exited: ${err}`);

    const node = new Enforcer(addrs.ingest, 'node-grpcurl').open();
    node.hello();
    node.alerts(1, 3, (seq) => ({ PolicyName: `policy-${seq}`, Action: seq === 2 ? 'Block' : 'Audit', NamespaceName: 'ns-grpcurl', PodName: `pod-${seq}` }));
    await until(() => got.length >= 3 || child?.exitCode !== null, 'three alerts from grpcurl');
    node.close();
    assert.equal(got.length, 3, `grpcurl output: ${JSON.stringify(got)} ${err}`);
    got.forEach((a, i) => {
      const seq = i + 1;
      assert.equal(a['PolicyName'], `policy-${seq}`);
      assert.equal(a['Action'], seq === 2 ? 'Block' : 'Audit');
      assert.equal(a['NamespaceName'], 'ns-grpcurl');
      assert.equal(a['PodName'], `pod-${seq}`);
      assert.equal(a['HostName'], 'node-grpcurl');
      assert.equal(a['ClusterName'], 'grpcurl-cluster', 'filled in by the relay');
      assert.equal(a['Operation'], 'File');
      assert.equal(a['Resource'], `/etc/file-node-grpcurl-${seq}`);
      assert.match(String(a['Timestamp']), /^\d+$/, 'int64 as a JSON string (proto3 JSON mapping)');
    });
    child.kill('SIGTERM');
  });

  it('answers the standard health check and HealthCheck nonce', async () => {
    const health = await grpcurl(['-import-path', 'proto', '-proto', 'grpc/health/v1/health.proto', '-plaintext', '-d', '{"service":"feeder.LogService"}',
      `127.0.0.1:${addrs.logStreamPort}`, 'grpc.health.v1.Health/Check']);
    assert.equal(health.status, 0, health.stderr);
    assert.deepEqual(JSON.parse(health.stdout), { status: 'SERVING' });
    const nonce = await grpcurl(['-import-path', 'proto', '-proto', 'feeder/kubearmor.proto', '-plaintext', '-d', '{"nonce":4242}',
      `127.0.0.1:${addrs.logStreamPort}`, 'feeder.LogService/HealthCheck']);
    assert.equal(nonce.status, 0, nonce.stderr);
    assert.deepEqual(JSON.parse(nonce.stdout), { Retval: 4242 });
  });
});
