// Bounded polling for tests: checks a condition until it holds, at most `maxTries` times
// and for at most `timeoutMs`, then fails naming what was awaited and the last value seen.
// The bound is a failure limit, not an assertion about speed.
import { setTimeout as sleep } from 'node:timers/promises';

export type PollOptions = { readonly timeoutMs?: number; readonly intervalMs?: number; readonly maxTries?: number };

export async function pollUntil<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: PollOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 10;
  const maxTries = opts.maxTries ?? Math.ceil(timeoutMs / intervalMs) + 1;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < maxTries; i++) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    last = v;
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what} (last value: ${JSON.stringify(last)})`);
}
