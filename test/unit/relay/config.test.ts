import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, envName, FIELDS, flagName, loadRelayConfig, parseHostPort, formatProblem } from '../../../relay/config.js';
import { defaultSpoolDir } from '../../../relay/spool/config.js';

const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('defaults need nothing installed and listen where KubeArmor does', () => {
  const r = loadRelayConfig({ env: {} });
  assert.ok(r.ok);
  // the commands spool by default: the one difference from defaultConfig() (in memory)
  const d = defaultConfig();
  assert.equal(d.spool.dir, '');
  assert.deepEqual(r.value, { ...d, spool: { ...d.spool, dir: defaultSpoolDir({}) } });
  assert.equal(r.value.logStream.listen, '0.0.0.0:32767');
  assert.equal(r.value.ingest.listen, '127.0.0.1:32768');
  assert.equal(r.value.redis.url, '');
  assert.equal(r.value.kubernetes.mode, 'none');
  assert.equal(r.value.throttle.maxAlertsPerSec, 10);
  assert.equal(r.value.throttle.throttleSec, 30);
});

test('precedence: flags over env over file over defaults', () => {
  const f = file('a.yaml', 'logStream:\n  listen: 127.0.0.1:1000\n  clientQueueSize: 5\nthrottle:\n  maxAlertsPerSec: 3\n');
  const r = loadRelayConfig({
    file: f,
    env: { PALISADE_RELAY_LOG_STREAM_LISTEN: '127.0.0.1:2000', PALISADE_RELAY_THROTTLE_MAX_ALERTS_PER_SEC: '4' },
    flags: { 'log-stream-listen': '127.0.0.1:3000' },
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.logStream.listen, '127.0.0.1:3000');
  assert.equal(r.value.logStream.clientQueueSize, 5);
  assert.equal(r.value.throttle.maxAlertsPerSec, 4);
});

test('JSON files are read as JSON', () => {
  const f = file('a.json', JSON.stringify({ kubernetes: { mode: 'in-cluster' }, clusterName: 'prod' }));
  const r = loadRelayConfig({ file: f });
  assert.ok(r.ok);
  assert.equal(r.value.kubernetes.mode, 'in-cluster');
  assert.equal(r.value.clusterName, 'prod');
});

test('errors name the field and the source', () => {
  const f = file('bad.yaml', 'ingest:\n  maxMessageBytes: lots\n  listne: 1.2.3.4:5\nkubernetes:\n  mode: maybe\n');
  const r = loadRelayConfig({
    file: f,
    env: { PALISADE_RELAY_THROTTLE_ENABLED: 'yes' },
    flags: { 'log-stream-listen': 'nowhere', 'redis-url': 'http://x' },
  });
  assert.ok(!r.ok);
  const lines = r.problems.map(formatProblem);
  assert.ok(lines.includes(`${f}: ingest.maxMessageBytes: expected an integer, got "lots"`), lines.join('\n'));
  assert.ok(lines.includes(`${f}: ingest.listne: unknown field`), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`${f}: kubernetes.mode: expected one of none, kubeconfig, in-cluster`)));
  assert.ok(lines.includes('env PALISADE_RELAY_THROTTLE_ENABLED: throttle.enabled: expected true or false, got "yes"'));
  assert.ok(lines.some((l) => l.startsWith('flag --log-stream-listen: logStream.listen: expected host:port')));
  assert.ok(lines.some((l) => l.startsWith('flag --redis-url: redis.url: expected a redis: or rediss: URL')));
  assert.equal(r.problems.length, 6);
});

test('ranges, unreadable files and cross-field rules are reported', () => {
  const r1 = loadRelayConfig({ flags: { 'logstream-client-queue-size': '1' }, env: { PALISADE_RELAY_LOG_STREAM_CLIENT_QUEUE_SIZE: '0' } });
  assert.ok(!r1.ok);
  assert.match(formatProblem(r1.problems[0]!), /logStream.clientQueueSize: must be between 1 and/);
  const r2 = loadRelayConfig({ file: join(dir, 'missing.yaml') });
  assert.ok(!r2.ok);
  assert.match(formatProblem(r2.problems[0]!), /missing.yaml: \(file\): cannot read/);
  const r3 = loadRelayConfig({ flags: { 'tls-cert-file': '/x.pem', 'tls-require-client-cert': 'true', 'ingest-listen': '0.0.0.0:32767' } });
  assert.ok(!r3.ok);
  const fields = r3.problems.map((p) => p.field).sort();
  assert.deepEqual(fields, ['ingest.listen', 'tls.certFile/tls.keyFile', 'tls.requireClientCert']);
});

test('env and flag names derive from the field path', () => {
  const f = FIELDS.find((x) => x.path.join('.') === 'ingest.maxMessageBytes')!;
  assert.equal(envName(f), 'PALISADE_RELAY_INGEST_MAX_MESSAGE_BYTES');
  assert.equal(flagName(f), 'ingest-max-message-bytes');
  assert.deepEqual(parseHostPort('[::1]:32767'), { host: '::1', port: 32767 });
  assert.equal(parseHostPort('host:70000'), undefined);
  assert.equal(parseHostPort('host'), undefined);
});
