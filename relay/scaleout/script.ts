// A Lua script run with EVALSHA, loaded on first use and again after a NOSCRIPT
// reply (Redis restarted or SCRIPT FLUSH), so callers never ship the source twice
// in the normal case and never fail because the cache was emptied.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Script {
  run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | Buffer | number>, buffers?: boolean): Promise<unknown>;
}

export function createScript(lua: string): Script {
  const sha = createHash('sha1').update(lua).digest('hex');
  return {
    async run(redis, keys, args, buffers = false) {
      const call = (cmd: string, head: string): Promise<unknown> => {
        const a = [head, keys.length, ...keys, ...args];
        return buffers ? redis.callBuffer(cmd, a) : redis.call(cmd, a);
      };
      try {
        return await call('EVALSHA', sha);
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
        return call('EVAL', lua);
      }
    },
  };
}
