// The relay started by `palisade relay` with deploy/relay's ConfigMap relay.yaml and
// access.yaml and a Secret laid out as deploy/relay/README.md says (paths moved under a
// temporary root, listeners on loopback, kubernetes.mode none: there is no cluster here)
// serves grpc.health.v1 over mutual TLS only: grpcurl with a client certificate gets
// SERVING; plaintext and TLS without a certificate are refused — which is why the
// Deployment uses tcpSocket probes (the kubelet's grpc probes speak plaintext).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = new URL('../../../', import.meta.url).pathname;
const cache = process.env.PALISADE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'palisade');
const GRPCURL = join(cache, 'bin', 'grpcurl');
const tmp = mkdtempSync(join(tmpdir(), 'palisade-deploy-run-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitListening(port: number, child: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 300; i++) {   // bounded: 300 x 100 ms
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

test('the manifest config runs the relay with mTLS-only health', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(GRPCURL), `${GRPCURL} missing: run test/infra/services.sh setup grpcurl`);
  const cm = parseAllDocuments(readFileSync(join(root, 'deploy/relay/base/configmap.yaml'), 'utf8'))[0]?.toJS() as { data: Record<string, string> };
  const etc = join(tmp, 'etc/palisade');
  mkdirSync(join(etc, 'tls'), { recursive: true });
  const relayYaml = join(etc, 'relay.yaml');
  writeFileSync(relayYaml, cm.data['relay.yaml']!.replaceAll('/etc/palisade/', `${etc}/`).replaceAll('/var/lib/palisade/', `${tmp}/var/lib/palisade/`));
  writeFileSync(join(etc, 'access.yaml'), cm.data['access.yaml']!);
  const certsDir = join(tmp, 'relay-certs');
  const certs = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'certs', '--out', certsDir, '--server-names', 'kubearmor-relay.kubearmor.svc,localhost,127.0.0.1', '--client', 'team-a'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(certs.status, 0, certs.stderr);
  for (const [key, file] of [['tls.crt', 'server.crt'], ['tls.key', 'server.key'], ['ca.crt', 'ca.crt']] as const) copyFileSync(join(certsDir, file), join(etc, 'tls', key));

  const [logPort, ingestPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'relay', '--config', relayYaml,
    '--log-stream-listen', `127.0.0.1:${logPort}`, '--ingest-listen', `127.0.0.1:${ingestPort}`, '--kubernetes-mode', 'none'],
  { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => { const timer = setTimeout(() => { child.kill('SIGKILL'); r(undefined); }, 15_000); child.once('exit', () => { clearTimeout(timer); r(undefined); }); });
    }
    rmSync(tmp, { recursive: true, force: true });
  });
  try {
    await waitListening(logPort, child);
  } catch (err) {
    assert.fail(`${(err as Error).message}\n${stderr}`);
  }
  const health = (extra: string[]): { status: number | null; out: string } => {
    const r = spawnSync(GRPCURL, ['-import-path', 'proto', '-proto', 'grpc/health/v1/health.proto', ...extra, '-d', '{"service":"feeder.LogService"}', `127.0.0.1:${logPort}`, 'grpc.health.v1.Health/Check'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const ok = health(['-cacert', join(certsDir, 'ca.crt'), '-cert', join(certsDir, 'client-team-a.crt'), '-key', join(certsDir, 'client-team-a.key'), '-servername', 'localhost']);
  assert.equal(ok.status, 0, ok.out);
  assert.deepEqual(JSON.parse(ok.out), { status: 'SERVING' });
  const plain = health(['-plaintext']);
  assert.notEqual(plain.status, 0, plain.out);
  const noCert = health(['-cacert', join(certsDir, 'ca.crt'), '-servername', 'localhost']);
  assert.notEqual(noCert.status, 0, noCert.out);
  assert.match(noCert.out, /certificate required/);
  assert.ok(existsSync(join(tmp, 'var/lib/palisade/relay-spool')), 'the spool directory of the config was not created');
});
