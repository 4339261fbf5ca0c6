// The relay with Kubernetes identity from relay/k8s (informers over the protocol-
// faithful API test server, reached through a real kubeconfig): a simulated enforcer's
// alert for a Deployment's container reaches a karmor client enriched (namespace, pod,
// labels, owner Deployment, container name and image); an unknown container's alert
// arrives after the bounded wait, visibly unenriched; a pod created later is picked
// up by the watch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { UNENRICHED_TAG } from '../../../relay/enrich/enricher.js';
import { startK8sApiServer, writeKubeconfig } from '../../support/k8s-api-server.js';
import { createDeployment, createNamespace } from '../../support/k8s-fixtures.js';
import { Enforcer, startRelay, until, Watcher, watchersReady } from './support.js';

test('alerts are enriched from the Kubernetes API; unknown containers are marked', async () => {
  const token = 'relay-test-token';
  const api = await startK8sApiServer({ token });
  createNamespace(api, 'shop');
  const web = createDeployment(api, { namespace: 'shop', name: 'web', labels: { app: 'web', tier: 'fe' } });
  const dir = mkdtempSync(join(tmpdir(), 'relay-k8s-'));
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), api.url, { token });
  const { relay, addrs } = await startRelay({ throttle: { enabled: false, collapseWindowMs: 0 }, kubernetes: { mode: 'kubeconfig', kubeconfig, identityWaitMs: 3000 } });
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
  await watchersReady(relay, 1);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-k').open();
  e.hello();
  const cid = web.pods[0]!.containerIds[0]!;
  e.alerts(1, 1, () => ({ ContainerID: cid }));
  e.alerts(2, 2, () => ({ ContainerID: 'f'.repeat(64) }));
  await until(() => w.got.length === 2, 'two alerts');
  const [a, u] = w.got as [Alert, Alert];
  assert.equal(a.NamespaceName, 'shop');
  assert.equal(a.PodName, web.pods[0]!.pod.metadata.name);
  assert.match(a.Labels, /^app=web,pod-template-hash=\w+,tier=fe$/);
  assert.deepEqual(a.Owner, { Ref: 'Deployment', Name: 'web', Namespace: 'shop' });
  assert.equal(a.ContainerName, 'web');
  assert.match(a.ContainerImage, /docker\.io\/library\/web:1\.0/);
  assert.deepEqual(a.ATags, []);
  assert.equal(u.NamespaceName, '');
  assert.deepEqual(u.ATags, [UNENRICHED_TAG]);
  assert.ok(relay.counters.total('palisade_relay_unenriched_events_total') === 1);

  const later = createDeployment(api, { namespace: 'shop', name: 'api' });
  e.alerts(3, 3, () => ({ ContainerID: later.pods[0]!.containerIds[0]! }));
  await until(() => w.got.length === 3, 'third alert');
  assert.equal(w.got[2]!.PodName, later.pods[0]!.pod.metadata.name);
  e.close();
  w.close();
  await relay.stop(3000);
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
