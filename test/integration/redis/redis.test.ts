// Real Redis (test/infra/redis, 127.0.0.1:16379) through ioredis: a string round
// trip, a stream round trip (XADD/XRANGE) and one pub/sub message. Keys and
// channels are unique per run so parallel or repeated runs never see each other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';

const PORT = 16379;
const HOST = '127.0.0.1';

function connect(): Redis {
  // Fail fast instead of queueing commands forever when the service is down.
  return new Redis({ host: HOST, port: PORT, lazyConnect: true, connectTimeout: 5_000,
    maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false });
}

describe('redis round trips with ioredis', { timeout: 60_000 }, () => {
  const run = randomUUID();
  const keys: string[] = [];
  let redis: Redis;

  before(async () => {
    redis = connect();
    await redis.connect().catch((e: unknown) => {
      throw new Error(`cannot reach the test Redis at ${HOST}:${PORT} (start it: test/infra/services.sh start redis): ${String(e)}`);
    });
  });
  after(async () => {
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('SET then GET returns the value, with a TTL', async () => {
    const key = `palisade:test:${run}:string`;
    keys.push(key);
    assert.equal(await redis.set(key, 'value-ü-1', 'EX', 60), 'OK');
    assert.equal(await redis.get(key), 'value-ü-1');
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    assert.equal(await redis.get(`${key}:absent`), null);
  });

  it('XADD three entries then XRANGE returns them in order with their fields', async () => {
    const key = `palisade:test:${run}:stream`;
    keys.push(key);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await redis.xadd(key, '*', 'seq', String(i), 'op', `exec-${i}`);
      assert.ok(id, 'XADD returned no id');
      ids.push(id);
    }
    const entries = await redis.xrange(key, '-', '+');
    assert.deepEqual(entries, ids.map((id, i) => [id, ['seq', String(i), 'op', `exec-${i}`]]));
    assert.equal(await redis.xlen(key), 3);
  });

  it('a published message reaches a subscriber', async () => {
    const channel = `palisade:test:${run}:channel`;
    const sub = connect();
    try {
      await sub.connect();
      assert.equal(await sub.subscribe(channel), 1);
      const received = once(sub, 'message');
      assert.equal(await redis.publish(channel, 'alert-1'), 1); // one subscriber got it
      const [gotChannel, message] = (await received) as [string, string];
      assert.equal(gotChannel, channel);
      assert.equal(message, 'alert-1');
    } finally {
      sub.disconnect();
    }
  });
});
