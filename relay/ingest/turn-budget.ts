// A bound on how long ingest hand-offs run in one turn of the event loop.
//
// Why: with the spool, one group commit (one durable write) acks every batch that queued
// behind it, and their continuations (decode, enrich, publish) all run in the same
// microtask checkpoint. After a slow sync that was hundreds of batches, a 100-200 ms
// stall in which no socket was read and no log-stream client written. A hand-off
// that finds the current turn has already run `budgetMs` waits for the next turn
// (setImmediate), so I/O runs between slices; order within a stream is kept by the
// caller (each batch awaits the previous one). The budget is a bound on one slice, and
// also a cap on hand-off work per turn: too small a budget throttles ingest when turns
// are few (see ingest-server.ts HANDOFF_BUDGET_MS).
import { performance } from 'node:perf_hooks';

export interface TurnBudget {
  /** Resolves at once (undefined) while the turn has budget left; else a promise for the next turn. */
  wait(): Promise<void> | undefined;
}

export function createTurnBudget(budgetMs: number, now: () => number = () => performance.now()): TurnBudget {
  let started = -1; // start of the current turn's hand-offs; -1: none yet this turn
  const reset = (): void => {
    started = -1;
  };
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return {
    wait() {
      const at = now();
      if (started < 0) {
        started = at;
        setImmediate(reset); // queued before any waiter of this turn: the next turn starts afresh
        return undefined;
      }
      return at - started < budgetMs ? undefined : nextTurn();
    },
  };
}
