// deploy/relay: the manifests parse, their embedded relay.yaml and access.yaml load
// through the relay's own loaders with no problems (tenancy on, mutual TLS on ingest,
// kubernetes in-cluster), the container args are accepted by `palisade relay`'s flag
// parser, the TLS file names match what `palisade certs` + the README's Secret give,
// and the ClusterRole grants get/list/watch on every resource relay/k8s lists/watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { FIELDS, flagName, formatProblem, loadRelayConfig } from '../../../relay/config.js';
import { loadAccessConfig } from '../../../relay/access/config.js';
import { loadServerCredentials } from '../../../relay/tls/credentials.js';
import { resourceAccess } from '../../../relay/k8s/kube-client.js';
import { run as certs } from '../../../cli/commands/certs.js';

const root = new URL('../../../', import.meta.url).pathname;
const base = join(root, 'deploy/relay/base');
const overlay = join(root, 'deploy/relay/redis');
const tmp = mkdtempSync(join(tmpdir(), 'palisade-deploy-unit-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function readManifests(dir: string): Obj[] {
  const out: Obj[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml') && n !== 'kustomization.yaml').sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) {
      assert.equal(doc.errors.length, 0, `${dir}/${name}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const v: unknown = doc.toJS();
      if (v === null) continue;
      assert.ok(typeof v === 'object' && !Array.isArray(v), `${name}: a document is not a mapping`);
      const o = v as Obj;
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${name}: apiVersion/kind/metadata.name missing`);
      out.push(o);
    }
  }
  return out;
}

const objs = readManifests(base);
const find = (kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} in deploy/relay`);
  return o;
};
const cm = find('ConfigMap', 'palisade-relay-config') as Obj & { data: Record<string, string> };
type Container = { name: string; args: string[]; ports: Array<{ containerPort: number }>; env?: Array<{ name: string; value: string }>; volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }> };
type PodSpec = { containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }> };
const dep = find('Deployment', 'palisade-relay') as Obj & { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
const relay = dep.spec.template.spec.containers.find((c) => c.name === 'relay');
assert.ok(relay, 'no container "relay"');

function writeData(key: string): string {
  const p = join(tmp, key);
  writeFileSync(p, cm.data[key] ?? assert.fail(`ConfigMap has no ${key}`));
  return p;
}

test('kustomization lists every manifest file of deploy/relay and of the redis overlay', () => {
  for (const dir of [base, overlay]) {
    const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    const files = readdirSync(dir).filter((n) => n.endsWith('.yaml') && n !== 'kustomization.yaml');
    const patched = dir === overlay ? ['relay-scaleout.yaml'] : [];
    assert.deepEqual(files.filter((f) => !patched.includes(f)).sort(), k.resources.filter((r) => r.endsWith('.yaml')).sort(), dir);
  }
  assert.ok(readManifests(overlay).some((o) => o.kind === 'Deployment' && o.metadata.name === 'palisade-redis'));
});

test('relay.yaml loads through loadRelayConfig: tenancy on, mTLS, in-cluster, spool on the volume', () => {
  const file = writeData('relay.yaml');
  const r = loadRelayConfig({ file, env: {} });
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  const c = r.value;
  assert.equal(c.kubernetes.mode, 'in-cluster');
  assert.equal(c.ingest.listen, '0.0.0.0:32768');
  assert.equal(c.logStream.listen, '0.0.0.0:32767');
  assert.equal(c.tls.requireClientCert, true);
  assert.notEqual(c.tls.caFile, '');
  assert.equal(c.access.file, '/etc/palisade/access.yaml');
  assert.equal(c.spool.enabled, true);
  // every file the config names is mounted in the relay container
  const mounts = relay.volumeMounts;
  const covered = (p: string): boolean => mounts.some((m) => (m.subPath ? p === m.mountPath : p.startsWith(m.mountPath + '/') || p === m.mountPath));
  for (const p of [c.tls.certFile, c.tls.keyFile, c.tls.caFile, c.access.file, c.spool.dir]) assert.ok(covered(p), `${p} is not mounted`);
  const spoolMount = mounts.find((m) => m.mountPath === c.spool.dir);
  const spoolVol = dep.spec.template.spec.volumes.find((v) => v.name === spoolMount?.name) as { emptyDir?: unknown; persistentVolumeClaim?: unknown } | undefined;
  assert.ok(spoolVol?.emptyDir !== undefined || spoolVol?.persistentVolumeClaim !== undefined, 'spool dir is not on a writable volume');
  // the config file and the access file come from this ConfigMap, under the keys tested here
  for (const [path, key] of [['/etc/palisade/relay.yaml', 'relay.yaml'], [c.access.file, 'access.yaml']] as const) {
    const m = mounts.find((x) => x.mountPath === path);
    assert.equal(m?.subPath, key, path);
    assert.equal(dep.spec.template.spec.volumes.find((v) => v.name === m?.name)?.configMap?.name, cm.metadata.name);
  }
});

test('a typo in relay.yaml is reported by the same check (the test can fail)', () => {
  const p = join(tmp, 'typo.yaml');
  writeFileSync(p, cm.data['relay.yaml']!.replace('requireClientCert:', 'requireClientCerts:'));
  const r = loadRelayConfig({ file: p, env: {} });
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.problems.some((x) => x.field === 'tls.requireClientCerts'));
});

test('the redis overlay env is accepted and sets redis.url', () => {
  const patch = readManifests(overlay).find((o) => o.kind === 'Deployment' && o.metadata.name === 'palisade-relay') as Obj & { spec: { replicas: number; template: { spec: PodSpec } } };
  assert.equal(patch.spec.replicas, 2);
  const env = Object.fromEntries((patch.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  const r = loadRelayConfig({ file: writeData('relay.yaml'), env });
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  assert.match(r.value.redis.url, /^redis:\/\/palisade-redis\.kubearmor\.svc:6379$/);
});

test('access.yaml loads through relay/access with no problems and has tenants', () => {
  const r = loadAccessConfig(writeData('access.yaml'));
  assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
  assert.ok(r.value.tenants.length >= 2);
  const bad = join(tmp, 'bad-access.yaml');
  writeFileSync(bad, cm.data['access.yaml']!.replace('team-a-staging', 'Team_A'));
  assert.equal(loadAccessConfig(bad).ok, false);
});

test('container args are accepted by palisade relay\'s parser and name the mounted config', () => {
  assert.equal(relay.args[0], 'relay');
  // the same option table as cli/commands/relay.ts run()
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, upstream: { type: 'string', multiple: true },
  };
  for (const f of FIELDS) options[flagName(f)] = { type: 'string', ...(f.kind.t === 'hostportList' ? { multiple: true } : {}) };
  const { values } = parseArgs({ args: relay.args.slice(1), options, strict: true, allowPositionals: false });
  assert.equal(values['config'], '/etc/palisade/relay.yaml');
  assert.ok(relay.volumeMounts.some((m) => m.mountPath === values['config'] && m.subPath === 'relay.yaml'));
});

test('palisade certs output, put in the Secret as the README says, gives the relay mTLS credentials', async () => {
  const out = join(tmp, 'certs');
  const code = await certs(['--out', out, '--server-names', 'kubearmor-relay.kubearmor.svc,localhost', '--client', 'team-a']);
  assert.equal(code, 0);
  // kubectl create secret generic palisade-relay-tls --from-file=tls.crt=server.crt ... mounted at /etc/palisade/tls
  const secretDir = join(tmp, 'etc/palisade/tls');
  mkdirSync(secretDir, { recursive: true });
  const readme = readFileSync(join(root, 'deploy/relay/README.md'), 'utf8');
  for (const [key, file] of [['tls.crt', 'server.crt'], ['tls.key', 'server.key'], ['ca.crt', 'ca.crt']] as const) {
    assert.ok(readme.includes(`--from-file=${key}=relay-certs/${file}`), `README does not create ${key} from ${file}`);
    copyFileSync(join(out, file), join(secretDir, key));
  }
  const secretVol = dep.spec.template.spec.volumes.find((v) => v.secret?.secretName === 'palisade-relay-tls');
  assert.equal(relay.volumeMounts.find((m) => m.name === secretVol?.name)?.mountPath, '/etc/palisade/tls');
  const r = loadRelayConfig({ file: writeData('relay.yaml'), env: {} });
  assert.ok(r.ok);
  const rebase = (p: string): string => join(tmp, p);
  const creds = loadServerCredentials({ ...r.value.tls, certFile: rebase(r.value.tls.certFile), keyFile: rebase(r.value.tls.keyFile), caFile: rebase(r.value.tls.caFile) });
  assert.ok(creds.ok, creds.ok ? '' : creds.error);
  assert.equal(creds.value.mode, 'mtls');
});

test('Services: kubearmor-relay:32767 (karmor logs) and ingest 32768, namespace kubearmor', () => {
  type Svc = Obj & { spec: { ports: Array<{ port: number; targetPort: string }> } };
  assert.equal(find('Service', 'kubearmor-relay').metadata.namespace, 'kubearmor');
  assert.ok((find('Service', 'kubearmor-relay') as Svc).spec.ports.some((p) => p.port === 32767));
  assert.ok((find('Service', 'palisade-relay-ingest') as Svc).spec.ports.some((p) => p.port === 32768));
  // karmor logs port-forwards to port 32767 of a pod labelled kubearmor-app=kubearmor-relay
  const tpl = dep.spec.template.metadata.labels;
  assert.equal(tpl['kubearmor-app'], 'kubearmor-relay');
  assert.ok(relay.ports.some((p) => p.containerPort === 32767));
});

test('ClusterRole grants get/list/watch on every resource relay/k8s lists and watches', () => {
  const kc = new KubeConfig();
  // a cluster entry only so the API clients can be built; nothing is called
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const used = resourceAccess(kc).map((r) => {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([a-z]+)$/.exec(r.path);
    assert.ok(m, `unexpected path ${r.path}`);
    return { group: m[1] ?? '', resource: m[2]!, declared: r.resource };
  });
  assert.ok(used.length >= 9);
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
  const role = find('ClusterRole', 'palisade-relay') as Obj & { rules: Rule[] };
  for (const u of used) {
    assert.equal(u.resource, u.declared);
    for (const verb of ['get', 'list', 'watch']) {
      assert.ok(role.rules.some((r) => r.apiGroups.includes(u.group) && r.resources.includes(u.resource) && r.verbs.includes(verb)),
        `ClusterRole palisade-relay lacks ${verb} on ${u.group || 'core'}/${u.resource}`);
    }
  }
  // and grants nothing else (least privilege)
  const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)));
  assert.deepEqual(new Set(granted), new Set(used.map((u) => `${u.group}/${u.resource}`)));
  assert.ok(role.rules.every((r) => r.verbs.every((v) => ['get', 'list', 'watch'].includes(v))));
  const binding = find('ClusterRoleBinding', 'palisade-relay') as Obj & { roleRef: { name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> };
  assert.equal(binding.roleRef.name, role.metadata.name);
  const sa = find('ServiceAccount', 'palisade-relay');
  assert.ok(binding.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa.metadata.name && s.namespace === sa.metadata.namespace));
  assert.equal((dep.spec.template.spec as PodSpec & { serviceAccountName: string }).serviceAccountName, sa.metadata.name);
});
