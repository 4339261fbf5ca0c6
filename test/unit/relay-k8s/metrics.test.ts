// Stats become correctly named samples.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createIdentityCache, defaultConfig } from '../../../relay/k8s/index.js';
import { metricSamples } from '../../../relay/k8s/metrics.js';

describe('relay/k8s metrics', () => {
  it('names counters *_total and labels unknowns by reason', async () => {
    const cache = createIdentityCache(defaultConfig(), { logger: pino({ level: 'silent' }) });
    cache.lookup('a'.repeat(64));
    cache.lookup('a'.repeat(64));
    const samples = metricSamples(cache.stats());
    for (const s of samples) {
      assert.match(s.name, /^palisade_relay_k8s_[a-z_]+$/);
      assert.equal(s.name.endsWith('_total'), s.type === 'counter', s.name);
    }
    const disabled = samples.find((s) => s.name === 'palisade_relay_k8s_lookup_unknown_total' && s.labels.reason === 'disabled');
    assert.equal(disabled?.value, 2);
    assert.equal(samples.find((s) => s.name === 'palisade_relay_k8s_synced')?.value, 0);
    await cache.close();
  });
});
