import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { Enforcer, startRelay, until, Watcher, watchersReady } from './support.js';

test('one enforcer, one karmor-style client: alerts arrive and are acked', async () => {
  const { relay, addrs } = await startRelay({ throttle: { enabled: false, collapseWindowMs: 0 } });
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'policy');
  await watchersReady(relay, 1);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello('cluster-x');
  e.alerts(1, 5);
  await until(() => e.acked() === 5n, 'ack 5');
  await until(() => w.got.length === 5, '5 alerts');
  assert.deepEqual(w.got.map((a) => a.Resource), [1, 2, 3, 4, 5].map((s) => `/etc/file-node-1-${s}`));
  assert.equal(w.got[0]!.ClusterName, 'cluster-x');
  assert.match(w.got[0]!.UpdatedTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'UpdatedTime filled in KubeArmor format');
  e.close();
  w.close();
  await relay.stop(2000);
});
