// Jittered doubling back-off: attempt n waits a uniform random time in
// [d/2, d] where d = min(maxMs, initialMs * 2^n). Never more than maxMs, never 0
// (initialMs >= 1), so a reconnect loop is bounded in rate as well as in delay.
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(0, attempt), 30);
  const d = Math.min(maxMs, initialMs * 2 ** exp);
  return Math.max(1, Math.round(d / 2 + (d / 2) * random()));
}

/** Resolves after ms, or at once (false) when the signal aborts; true when the time passed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
