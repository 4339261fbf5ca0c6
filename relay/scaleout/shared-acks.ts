// Ingest ack high-water marks shared by the replicas, so that an enforcer which
// reconnects to another replica is not asked to resend (and does not get published
// twice) what the first replica already committed.
//
// Per (node id, boot id): the highest contiguous committed seq, as a decimal
// string under <prefix>acked:<node>:<boot>, raised (never lowered) by a Lua script
// that compares 64-bit decimals as strings (Lua numbers are doubles), and expiring
// `ttlSec` after the last update. The ingest server loads it into its local
// DedupWindow at hello (preload) and raises it after each commit.
// Limit: events a replica accepted but had not committed when it died are
// neither acked nor in the mark: the enforcer resends them, which is correct.
import type { Redis } from 'ioredis';
import { createScript } from './script.js';

const RAISE = createScript(`
local cur = redis.call('GET', KEYS[1])
local new = ARGV[1]
if (not cur) or #new > #cur or (#new == #cur and new > cur) then
  redis.call('SET', KEYS[1], new, 'EX', ARGV[2])
  return new
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return cur
`);

export interface SharedAcks {
  acked(nodeId: string, bootId: string): Promise<bigint>;
  /**
   * Cross-replica duplicate check: the highest seq of (node, boot) that any replica
   * has published. Read before publishing a batch (entries <= it are retransmits
   * already published elsewhere), raised with markAccepted() only after the batch
   * is in Redis — so a failed publish never turns into a dropped "duplicate".
   * Relies on per (node, boot) seqs arriving in increasing order (one enforcer, one
   * stream at a time); two live streams of one node on two replicas at once could
   * both publish a retransmit (a duplicate, recognisable by its id), never lose one.
   */
  accepted(nodeId: string, bootId: string): Promise<bigint>;
  markAccepted(nodeId: string, bootId: string, seq: bigint): Promise<void>;
  /** Raises the mark to `acked` (no-op when it is already higher); resolves to the mark. */
  commit(nodeId: string, bootId: string, acked: bigint): Promise<bigint>;
}

/** What preload() needs of relay/ingest/dedup-window.ts's DedupWindow. */
export type DedupLike = {
  acked(nodeId: string, bootId: string): bigint;
  commit(nodeId: string, bootId: string, first: bigint, last: bigint): bigint;
};

export function createSharedAcks(redis: Redis, keyPrefix: string, ttlSec: number): SharedAcks {
  const key = (n: string, b: string): string => `${keyPrefix}acked:${encodeURIComponent(n)}:${encodeURIComponent(b)}`;
  const acceptedKey = (n: string, b: string): string => `${keyPrefix}accepted:${encodeURIComponent(n)}:${encodeURIComponent(b)}`;
  const get = async (n: string, b: string): Promise<bigint> => {
    const v = await redis.get(key(n, b));
    return v !== null && /^\d+$/.test(v) ? BigInt(v) : 0n;
  };
  return {
    acked: get,
    async accepted(n, b) {
      const v = await redis.get(acceptedKey(n, b));
      return v !== null && /^\d+$/.test(v) ? BigInt(v) : 0n;
    },
    async markAccepted(n, b, seq) {
      await RAISE.run(redis, [acceptedKey(n, b)], [seq.toString(), ttlSec]);
    },
    async commit(n, b, acked) {
      if (acked <= 0n) return get(n, b);
      const v = await RAISE.run(redis, [key(n, b)], [acked.toString(), ttlSec]);
      return BigInt(String(v));
    },
  };
}

/** At hello: makes the local dedup window at least as far as the shared mark; returns the ack to send. */
export async function preload(dedup: DedupLike, acks: SharedAcks, nodeId: string, bootId: string): Promise<bigint> {
  const shared = await acks.acked(nodeId, bootId);
  if (shared > dedup.acked(nodeId, bootId)) dedup.commit(nodeId, bootId, 1n, shared);
  return dedup.acked(nodeId, bootId);
}
