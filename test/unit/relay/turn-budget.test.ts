// relay/ingest/turn-budget.ts: hand-offs run freely until the turn's budget is spent,
// then wait for the next turn of the event loop, where the budget starts afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTurnBudget } from '../../../relay/ingest/turn-budget.js';

const busy = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
};

test('within the budget nothing waits; past it, waiters resume in a later turn, in order, with a fresh budget', async () => {
  const budget = createTurnBudget(5);
  assert.equal(budget.wait(), undefined, 'first hand-off of a turn');
  busy(2);
  assert.equal(budget.wait(), undefined, '2 ms into a 5 ms budget');
  busy(4);
  const order: string[] = [];
  const a = budget.wait();
  const b = budget.wait();
  assert.ok(a instanceof Promise && b instanceof Promise, 'past the budget: wait for the next turn');
  let immediateRan = false;
  setImmediate(() => { immediateRan = true; });
  void a.then(() => order.push('a'));
  void b.then(() => order.push('b'));
  await a;
  await b;
  assert.deepEqual(order, ['a', 'b']);
  // the waiters resumed in a later turn; there the budget is fresh
  assert.equal(budget.wait(), undefined, 'a new turn starts with its whole budget');
  await new Promise((r) => setImmediate(r));
  assert.ok(immediateRan);
});

test('a turn that does little never waits', async () => {
  const budget = createTurnBudget(50);
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 100; i++) assert.equal(budget.wait(), undefined);
    await new Promise((r) => setImmediate(r));
  }
});
