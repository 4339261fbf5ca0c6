// deploy/relay against the real Kubernetes Go types: test/infra/k8s-validate decodes
// every document strictly (unknown or duplicate fields, unknown kinds are errors) and
// checks selectors, volume mounts, Service target ports, RBAC references. The test
// builds the tool through its setup.sh (a no-op when the cached binary matches the
// sources), runs it on the base files, on the redis overlay, and on both as rendered by
// the kustomize API (what `kubectl apply -k` applies), and checks that broken
// manifests are reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const top = join(root, 'deploy/relay');
const base = join(top, 'base');
const cache = process.env.PALISADE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'palisade');
const tool = join(cache, 'bin', 'k8s-validate');
const tmp = mkdtempSync(join(tmpdir(), 'palisade-k8s-validate-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = ['namespace.yaml', 'rbac.yaml', 'configmap.yaml', 'deployment.yaml', 'service.yaml'].map((f) => join(base, f));

function validate(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, `cannot run ${tool}: ${String(r.error)}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function broken(file: string, from: string, to: string): string {
  const text = readFileSync(join(base, file), 'utf8');
  assert.ok(text.includes(from), `${file} does not contain ${JSON.stringify(from)}`);
  const p = join(tmp, file);
  writeFileSync(p, text.replace(from, to));
  return p;
}
const swap = (file: string, replacement: string): string[] => BASE.map((f) => (f.endsWith(`/${file}`) ? replacement : f));

test('setup builds (or finds) the validator', { timeout: 900_000 }, () => {
  const r = spawnSync('bash', [join(root, 'test/infra/k8s-validate/setup.sh')], { encoding: 'utf8', timeout: 900_000, env: { ...process.env, PALISADE_CACHE: cache } });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('kustomization resources are exactly the files validated here', () => {
  const k = readFileSync(join(base, 'kustomization.yaml'), 'utf8');
  const listed = [...k.matchAll(/^\s+-\s+(\S+\.yaml)\s*$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(listed, BASE.map((f) => f.slice(base.length + 1)).sort());
});

test('base manifests: every document decodes strictly and passes the checks', () => {
  const r = validate(BASE);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok: 8 documents$/m);
});

test('redis overlay (+ the relay patch, strictly decoded) passes', () => {
  const r = validate(['-patch', join(top, 'redis/relay-scaleout.yaml'), ...BASE, join(top, 'redis/redis.yaml')]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok: 11 documents$/m);
});

test('kustomize renders deploy/relay and deploy/relay/redis; the rendered output passes', () => {
  let r = validate(['-kustomize', top, '-print']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok: 8 documents$/m);
  assert.match(r.out, /^ {8}image: registry\.example\.com\/palisade:latest$/m, 'images: entry not applied');
  assert.doesNotMatch(r.out, /^ {8}image: palisade$/m);
  r = validate(['-kustomize', join(top, 'redis'), '-print']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok: 10 documents$/m);
  assert.match(r.out, /^ {2}replicas: 2$/m);
  assert.match(r.out, /name: PALISADE_RELAY_REDIS_URL\n {10}value: redis:\/\/palisade-redis\.kubearmor\.svc:6379$/m);
  assert.match(r.out, /args:\n {8}- relay\n {8}- --config\n {8}- \/etc\/palisade\/relay\.yaml$/m, 'the patch dropped the base container settings');
});

test('kustomize errors are reported (an overlay whose resource is missing)', () => {
  const dir = join(tmp, 'overlay');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), `resources:\n  - ${relative(dir, base)}\n  - missing.yaml\n`);
  const r = validate(['-kustomize', dir]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /kustomize: .*missing\.yaml/);
});

test('a typo\'d field (case only) is an unknown-field error', () => {
  const r = validate(swap('deployment.yaml', broken('deployment.yaml', 'readOnlyRootFilesystem', 'readOnlyRootFileSystem')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /unknown field "spec\.template\.spec\.containers\[0\]\.securityContext\.readOnlyRootFileSystem"/);
});

test('a field at the wrong level, a duplicate key and an unknown kind are errors', () => {
  let r = validate(swap('service.yaml', broken('service.yaml', '  selector:\n    app.kubernetes.io/name: palisade-relay\n  ports:\n    - name: log-stream', '  selectors:\n    app.kubernetes.io/name: palisade-relay\n  ports:\n    - name: log-stream')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /unknown field "spec\.selectors"/);
  r = validate(swap('namespace.yaml', broken('namespace.yaml', '  name: kubearmor\n', '  name: kubearmor\n  name: kubearmor\n')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /namespace\.yaml#0: Namespace: [^]*key "name" already set/);
  r = validate(swap('namespace.yaml', broken('namespace.yaml', 'kind: Namespace', 'kind: Namespaces')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /unknown apiVersion\/kind "v1"\/"Namespaces"/);
});

test('semantic checks: selector/labels, volumeMount, targetPort, subPath key', () => {
  let r = validate(swap('deployment.yaml', broken('deployment.yaml', '- name: spool\n              mountPath', '- name: spoool\n              mountPath')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /volumeMount "spoool" names no volume/);
  r = validate(swap('service.yaml', broken('service.yaml', 'targetPort: ingest', 'targetPort: ingress')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /targetPort ingress is not a container port/);
  r = validate(swap('deployment.yaml', broken('deployment.yaml', '  selector:\n    matchLabels:\n      app.kubernetes.io/name: palisade-relay', '  selector:\n    matchLabels:\n      app.kubernetes.io/name: palisade-relay-x')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /spec\.selector .* does not match the template labels/);
  r = validate(swap('deployment.yaml', broken('deployment.yaml', 'subPath: access.yaml', 'subPath: tenants.yaml')));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /subPath "tenants\.yaml" is not a key of ConfigMap/);
});
