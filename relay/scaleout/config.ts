// Scale-out options. The Redis URL, stream key and length cap are the relay's
// `redis` section (RelayConfig['redis']); the rest have defaults that suit a few
// replicas and are not user-facing yet.
//
// Invariants: an empty url means scale-out is off (the relay runs on in-memory
// state only); every key lives under `keyPrefix` so one Redis can hold several
// clusters (one prefix each). Not for Redis Cluster: the Lua scripts touch keys
// they derive themselves.
export type ScaleOutConfig = {
  /** redis:// or rediss:// URL; empty: scale-out off. */
  readonly url: string;
  /** Redis Stream of enriched events shared by every replica. */
  readonly streamKey: string;
  /** Approximate cap on the stream length (XTRIM MAXLEN ~); trimmed entries are counted. */
  readonly streamMaxLen: number;
  /** Prefix of the throttle and ack keys. */
  readonly keyPrefix: string;
  /** How long one XREAD blocks before it is re-issued (also bounds how long stop() waits). */
  readonly readBlockMs: number;
  /** Entries per XREAD / XRANGE page. */
  readonly readCount: number;
  /** How long per-(node, boot) ack high-water marks live after their last update. */
  readonly ackTtlSec: number;
  /** Name of this replica (logs, relay-generated node ids). */
  readonly replicaName: string;
};

export function defaultScaleOutConfig(): ScaleOutConfig {
  return {
    url: '',
    streamKey: 'palisade:events',
    streamMaxLen: 1_000_000,
    keyPrefix: 'palisade:',
    readBlockMs: 1_000,
    readCount: 1_000,
    ackTtlSec: 7 * 86_400,
    replicaName: '',
  };
}

export function validateScaleOutConfig(c: ScaleOutConfig): string[] {
  const out: string[] = [];
  if (c.url !== '' && !/^rediss?:\/\//.test(c.url)) out.push(`redis.url: expected redis:// or rediss://, got ${JSON.stringify(c.url)}`);
  if (c.streamKey === '') out.push('redis.streamKey: must not be empty');
  if (!Number.isSafeInteger(c.streamMaxLen) || c.streamMaxLen < 1) out.push(`redis.streamMaxLen: expected a positive integer, got ${c.streamMaxLen}`);
  if (!Number.isSafeInteger(c.readBlockMs) || c.readBlockMs < 10) out.push(`scaleout.readBlockMs: expected >= 10, got ${c.readBlockMs}`);
  if (!Number.isSafeInteger(c.readCount) || c.readCount < 1) out.push(`scaleout.readCount: expected >= 1, got ${c.readCount}`);
  return out;
}
