// The identity cache, adapted to the relay enricher's IdentityLookup, over real HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identityLookupOf } from '../../../relay/k8s/enrich-adapter.js';
import { createCronJob, createNamespace, containerIdFor } from '../../support/k8s-fixtures.js';
import { startHarness, type Harness } from './harness.js';

describe('relay/k8s enrich adapter', () => {
  let h: Harness;
  let id = '';
  before(async () => {
    h = await startHarness({ seed: (api) => {
      createNamespace(api, 'batch');
      id = createCronJob(api, { namespace: 'batch', name: 'nightly', containers: [{ name: 'run', image: 'run:2' }] }).pods[0]?.containerIds[0] ?? '';
    } });
  });
  after(async () => { await h.close(); });

  it('maps a known container to the enricher identity (owner, labels map, KubeArmor image)', async () => {
    const r = await identityLookupOf(h.cache).resolve(`containerd://${id}`, { waitMs: 100 });
    assert.equal(r.known, true);
    if (r.known) {
      assert.equal(r.identity.namespace, 'batch');
      assert.equal(r.identity.containerName, 'run');
      assert.match(r.identity.image, /^run:2@sha256:[0-9a-f]{64}$/);
      assert.deepEqual(r.identity.owner, { ref: 'CronJob', name: 'nightly', namespace: 'batch' });
      assert.equal(r.identity.labels['job-name'], 'nightly-29000000');
    }
  });

  it('passes the unknown reason through as a low-cardinality label', async () => {
    const lookup = identityLookupOf(h.cache);
    assert.deepEqual(await lookup.resolve(containerIdFor('nobody'), { waitMs: 20 }), { known: false, reason: 'not-found' });
    assert.deepEqual(await lookup.resolve('not-an-id', { waitMs: 20 }), { known: false, reason: 'invalid-container-id' });
  });
});
