import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnricher, UNENRICHED_TAG } from '../../../relay/enrich/enricher.js';
import type { IdentityLookup } from '../../../relay/enrich/identity.js';
import { formatLabels, parseLabels } from '../../../relay/enrich/identity.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { alertEvent, alertOf, logEvent, messageEvent } from './helpers.js';

const fake = (calls: string[]): IdentityLookup => ({
  async resolve(cid, { waitMs }) {
    calls.push(`${cid}/${waitMs}`);
    if (cid === 'c1') {
      return { known: true, identity: { namespace: 'shop', podName: 'web-1', labels: { tier: 'fe', app: 'web' }, containerName: 'nginx', image: 'nginx:1', owner: { ref: 'Deployment', name: 'web', namespace: 'shop' } } };
    }
    if (cid === 'boom') throw new Error('bad lookup');
    return { known: false, reason: 'not_found' };
  },
});

test('known containers get identity; one lookup per container per batch', async () => {
  const calls: string[] = [];
  const counters = createCounters();
  const e = createEnricher(fake(calls), 250, counters);
  const evs = [alertEvent(1), alertEvent(2), logEvent(3), alertEvent(4, { ContainerID: 'c2' }), messageEvent(5), alertEvent(6, { ContainerID: '' })];
  await e.enrich(evs);
  assert.deepEqual(calls.sort(), ['c1/250', 'c2/250']);
  const a = alertOf(evs[0]!);
  assert.equal(a.NamespaceName, 'shop');
  assert.equal(a.PodName, 'web-1');
  assert.equal(a.Labels, 'app=web,tier=fe');
  assert.equal(a.ContainerName, 'nginx');
  assert.equal(a.ContainerImage, 'nginx:1');
  assert.deepEqual(a.Owner, { Ref: 'Deployment', Name: 'web', Namespace: 'shop' });
  assert.equal(evs[2]!.body.$case === 'log' && evs[2]!.body.value.PodName, 'web-1');
  assert.equal(evs[0]!.enriched, true);
  // unknown container: delivered, visibly unenriched, counted
  const u = alertOf(evs[3]!);
  assert.equal(evs[3]!.enriched, false);
  assert.deepEqual(u.ATags, [UNENRICHED_TAG]);
  assert.equal(u.Tags, UNENRICHED_TAG);
  assert.equal(u.NamespaceName, '');
  assert.equal(counters.get('palisade_relay_unenriched_events_total', { reason: 'not_found' }), 1);
  // host event and message untouched
  assert.equal(evs[5]!.enriched, true);
  assert.equal(alertOf(evs[5]!).NamespaceName, '');
});

test('a lookup that throws still lets the event through, counted', async () => {
  const counters = createCounters();
  const evs = [alertEvent(1, { ContainerID: 'boom', Tags: 'PCI' })];
  await createEnricher(fake([]), 0, counters).enrich(evs);
  assert.equal(evs[0]!.enriched, false);
  assert.equal(alertOf(evs[0]!).Tags, `PCI,${UNENRICHED_TAG}`);
  assert.equal(counters.get('palisade_relay_unenriched_events_total', { reason: 'lookup_error:Error' }), 1);
});

test('without Kubernetes events pass unchanged', async () => {
  const evs = [alertEvent(1)];
  await createEnricher(undefined, 0, createCounters()).enrich(evs);
  assert.equal(evs[0]!.enriched, true);
  assert.equal(alertOf(evs[0]!).NamespaceName, '');
});

test('labels format and parse', () => {
  assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  assert.deepEqual([...parseLabels('a=1,b=2,c')], [['a', '1'], ['b', '2'], ['c', '']]);
  assert.equal(parseLabels('').size, 0);
});

test('fast path: containers the lookup knows now are applied without resolve(); the rest are resolved once each', async () => {
  const calls: string[] = [];
  const peeks: string[] = [];
  const slow = fake(calls);
  const lookup: IdentityLookup = {
    resolve: slow.resolve.bind(slow),
    peek(cid) {
      peeks.push(cid);
      return cid === 'c1' ? { namespace: 'shop', podName: 'web-1', labels: { app: 'web' }, labelString: 'app=web', containerName: 'nginx', image: 'nginx:1' } : undefined;
    },
  };
  const counters = createCounters();
  const evs = [alertEvent(1), alertEvent(2), alertEvent(3, { ContainerID: 'c2' }), alertEvent(4), alertEvent(5, { ContainerID: 'c2' }), logEvent(6), alertEvent(7, { ContainerID: '' })];
  await createEnricher(lookup, 100, counters).enrich(evs);
  assert.deepEqual(calls, ['c2/100'], 'only the container peek did not know is resolved, once');
  assert.deepEqual(peeks, ['c1', 'c2'], 'peek once per container per batch');
  for (const i of [0, 1, 3]) {
    assert.equal(alertOf(evs[i]!).PodName, 'web-1');
    assert.equal(alertOf(evs[i]!).Labels, 'app=web');
    assert.equal(evs[i]!.enriched, true);
  }
  assert.equal(evs[5]!.body.$case === 'log' && evs[5]!.body.value.NamespaceName, 'shop');
  for (const i of [2, 4]) {
    assert.equal(evs[i]!.enriched, false);
    assert.deepEqual(alertOf(evs[i]!).ATags, [UNENRICHED_TAG]);
  }
  assert.equal(counters.get('palisade_relay_unenriched_events_total', { reason: 'not_found' }), 2);
  assert.equal(alertOf(evs[6]!).NamespaceName, '', 'host event untouched');
});
