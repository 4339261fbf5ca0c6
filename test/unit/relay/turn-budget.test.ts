// relay/ingest/turn-budget.ts: hand-offs run freely until the turn's budget is spent,
// then wait for the next turn of the event loop, where the budget starts afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTurnBudget } from '../../../relay/ingest/turn-budget.js';

// A clock the test moves by hand: how long the hand-offs "ran" never depends on how
// busy the machine is (a real 2 ms spin measured 5+ ms on a loaded CI host).
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test('within the budget nothing waits; past it, waiters resume in a later turn, in order, with a fresh budget', async () => {
  const clock = manualClock();
  const budget = createTurnBudget(5, clock.now);
  assert.equal(budget.wait(), undefined, 'first hand-off of a turn');
  clock.advance(2);
  assert.equal(budget.wait(), undefined, '2 ms into a 5 ms budget');
  clock.advance(4);
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
  const clock = manualClock();
  const budget = createTurnBudget(50, clock.now);
  // 20 turns of 10 ms each: 200 ms in all, far past one budget, so this fails unless every turn starts afresh
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 100; i++) {
      clock.advance(0.1);
      assert.equal(budget.wait(), undefined, `turn ${turn}, hand-off ${i}`);
    }
    await new Promise((r) => setImmediate(r));
  }
});
