// Config validation and the bounded waiter set.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, validate } from '../../../relay/k8s/config.js';
import { Waiters } from '../../../relay/k8s/waiters.js';

describe('relay/k8s config', () => {
  it('defaults are valid and need nothing installed', () => {
    const c = defaultConfig();
    assert.equal(c.mode, 'none');
    assert.deepEqual(validate(c), { ok: true, value: c });
  });

  it('names each bad field with its range', () => {
    const r = validate({ ...defaultConfig(), mode: 'kubeconfig', defaultWaitMs: 9_000, maxWaitMs: 1_000, watchIdleTimeoutMs: 1.5 }, 'relay.k8s');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.ok(r.errors.some((e) => e.startsWith('relay.k8s.watchIdleTimeoutMs: must be an integer from 100')));
      assert.ok(r.errors.some((e) => e.startsWith('relay.k8s.defaultWaitMs: must not exceed relay.k8s.maxWaitMs')));
    }
    const misplaced = validate({ ...defaultConfig(), kubeconfigPath: '/x' });
    assert.equal(!misplaced.ok && misplaced.errors[0]?.includes('only apply with mode "kubeconfig"'), true);
  });
});

describe('relay/k8s waiters', () => {
  it('wakes full-id and prefix waiters of an appearing id, and only those', async () => {
    const w = new Waiters(10);
    const id = 'ab'.repeat(32);
    const full = w.wait(id, 10_000);
    const prefix = w.wait(id.slice(0, 14), 10_000);
    const other = w.wait(`${id.slice(0, 12)}ff`, 50);
    assert.ok(full !== 'too-many-waiters' && prefix !== 'too-many-waiters' && other !== 'too-many-waiters');
    assert.equal(w.stats().pending, 3);
    w.notify(id);
    assert.deepEqual(await Promise.all([full, prefix]), ['appeared', 'appeared']);
    assert.equal(await other, 'timeout');
    assert.deepEqual(w.stats(), { pending: 0, exceeded: 0, timedOut: 1, woken: 2 });
  });

  it('refuses beyond capacity, counts it, and closeAll ends everyone', async () => {
    const w = new Waiters(1);
    const a = w.wait('c'.repeat(64), 10_000);
    assert.equal(w.wait('d'.repeat(64), 10_000), 'too-many-waiters');
    assert.equal(w.stats().exceeded, 1);
    w.closeAll();
    assert.equal(await a, 'closed');
    assert.equal(w.stats().pending, 0);
  });
});
