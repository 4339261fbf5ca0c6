import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContainerDirectory, parseContainersJson } from '../../../enforcer/agent/container-names.js';
import { createAuditor, standalonePolicies } from '../../../enforcer/agent/audit.js';
import { toFeederLog } from '../../../enforcer/agent/feeder-log.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { ctx, openEvent } from './events.js';

const TMP = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', `agent-unit-${process.pid}`);
const entry = (id: string, name: string, image: string): unknown => ({
  id, names: [name], image: 'f0b8', layer: '222c', metadata: JSON.stringify({ 'image-name': image, name }), created: '2026-11-29T23:51:34Z',
});

test('containers.json: names and image names by id; junk entries skipped', () => {
  const m = parseContainersJson(JSON.stringify([entry('aa', 'web', 'localhost/x:1'), { id: 'bb' }, 7, { id: 'cc', names: ['db'], metadata: '{bad' }]));
  assert.deepEqual([...m.entries()], [['aa', { name: 'web', image: 'localhost/x:1' }], ['cc', { name: 'db', image: '' }]]);
});

test('directory: reloads when the file changes, at most once per recheck interval on misses', () => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const f = join(TMP, 'containers.json');
  writeFileSync(f, JSON.stringify([entry('aa', 'web', 'img')]));
  let t = 1000;
  const d = createContainerDirectory({ path: f, recheckMs: 250, now: () => t });
  try {
    assert.equal(d.lookup('aa')?.name, 'web');
    writeFileSync(f, JSON.stringify([entry('aa', 'web', 'img'), entry('bb', 'db', 'img2')]));
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    t += 100;
    assert.equal(d.lookup('bb'), undefined, 'within the recheck interval: no re-read');
    t += 200;
    assert.equal(d.lookup('bb')?.name, 'db');
    assert.equal(d.stats().reloads, 2);
    writeFileSync(f, '{not json');
    utimesSync(f, new Date(), new Date(Date.now() + 10_000));
    t += 1000;
    assert.equal(d.lookup('zz'), undefined);
    assert.equal(d.stats().readErrors, 1);
    assert.equal(d.lookup('aa')?.name, 'web', 'a bad read keeps the previous names');
    assert.equal(createContainerDirectory({ path: join(TMP, 'missing.json') }).lookup('aa'), undefined);
  } finally {
    rmSync(TMP, { recursive: true, force: true });
  }
});

test('standalone: a KubeArmorPolicy without namespace selects a named container, with KubeArmor non-k8s fields', () => {
  const { policies, issues } = loadPolicySource(`apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: web-hostname
spec:
  selector:
    matchLabels:
      kubearmor.io/container.name: web
  file:
    matchPaths:
    - path: /etc/hostname
  action: Block
`, 'c.yaml');
  assert.deepEqual(issues, []);
  const container = { id: 'aa', runtime: 'libpod' as const };
  const c = { ...ctx, containerOf: (id: string) => (id === 'aa' ? { name: 'web', image: 'localhost/web:1' } : undefined) };
  const ev = openEvent('/etc/hostname', { container });
  const log = toFeederLog(ev, c);
  assert.ok(log);
  assert.equal(log.NamespaceName, 'container_namespace');
  assert.equal(log.ContainerName, 'web');
  assert.equal(log.ContainerImage, 'localhost/web:1');
  assert.equal(log.Labels, 'kubearmor.io/container.name=web');
  assert.equal(log.Type, 'ContainerLog');
  // as written (namespace default) the policy does not select the container; standalone it does
  assert.equal(createAuditor({ policies }).audit(ev, log), undefined);
  const a = createAuditor({ policies: standalonePolicies(policies) });
  const alert = a.audit(ev, log);
  assert.equal(alert?.PolicyName, 'web-hostname');
  assert.equal(alert?.Type, 'MatchedPolicy');
  assert.equal(alert?.ContainerName, 'web');
  assert.equal(alert?.NamespaceName, 'container_namespace');
  assert.equal(alert?.ContainerImage, 'localhost/web:1');
  assert.equal(alert?.Labels, 'kubearmor.io/container.name=web');
  // another container, or one whose name is unknown, is not selected
  const other = openEvent('/etc/hostname', { container: { id: 'bb', runtime: 'libpod' } });
  assert.equal(a.audit(other, toFeederLog(other, c)!), undefined);
});
