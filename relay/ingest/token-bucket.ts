// A token bucket: `ratePerSec` tokens refill continuously up to `burst`.
// take(n) either takes n tokens or takes none and says how long to wait for them.
// A request larger than the burst can never succeed and is reported as such.
export type Take = { ok: true } | { ok: false; waitMs: number; never: boolean };

export interface TokenBucket {
  take(n: number): Take;
}

export function createTokenBucket(ratePerSec: number, burst: number, now: () => number = () => performance.now()): TokenBucket {
  let tokens = burst;
  let last = now();
  return {
    take(n) {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) * ratePerSec) / 1000);
      last = t;
      if (n > burst) return { ok: false, waitMs: 0, never: true };
      if (tokens >= n) {
        tokens -= n;
        return { ok: true };
      }
      return { ok: false, waitMs: Math.ceil(((n - tokens) * 1000) / ratePerSec), never: false };
    },
  };
}
