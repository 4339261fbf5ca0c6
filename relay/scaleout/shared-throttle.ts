// Alert throttling shared by every replica: the semantics of relay/throttle/throttle.ts
// (per (container or host, policy, action): count alerts in a one-second window;
// the alert that passes maxAlertsPerSec is replaced by a SystemEvent/AlertThreshold
// notice and the key is throttled for throttleSec; alerts while throttled are
// dropped and counted, Block separately; when the interval ends one summary
// reports the counts), with the state in Redis so a noisy container is throttled
// once across the cluster, not once per replica.
//
// One Lua call per batch decides every alert atomically; windows and intervals
// use the Redis server clock (TIME), so replicas with skewed clocks agree.
// Keys: <prefix>throttle:w:<h> (window counter, PEXPIRE windowMs, default 1 s) and
// <prefix>throttle:t:<h> (hash: until, d, b; expires interval + 10 min), where h is
// the SHA-1 of the key. Exactly one replica emits a summary: the one whose
// script call removes the expired state (the next alert on the key, or tick() of
// a replica that saw the key throttled). A replica that dies takes only its own
// unsent summaries with it; the drops stay counted in Redis until the hash expires.
// Relay-generated alerts, logs and messages pass through untouched.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RELAY_NODE_ID, type RelayEvent, type RelayEventFactory } from '../event.js';
import type { Counters } from '../metrics/counters.js';
import type { Alert } from '../../proto/gen/feeder/kubearmor.js';
import { createScript } from './script.js';

const DECIDE = createScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prefix, max, interval, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local i = 5
while i <= #ARGV do
  local k, block, cnt = ARGV[i], ARGV[i + 1] == '1', tonumber(ARGV[i + 2])
  i = i + 3
  local tk, wk = prefix .. 't:' .. k, prefix .. 'w:' .. k
  local sd, sb = 0, 0
  local untilv = tonumber(redis.call('HGET', tk, 'until') or '0')
  if untilv > 0 and now >= untilv then
    sd = tonumber(redis.call('HGET', tk, 'd') or '0')
    sb = tonumber(redis.call('HGET', tk, 'b') or '0')
    redis.call('DEL', tk)
    untilv = 0
  end
  local code = 0
  if untilv > 0 then
    redis.call('HINCRBY', tk, 'd', cnt)
    if block then redis.call('HINCRBY', tk, 'b', cnt) end
    code = 2
  else
    local n = redis.call('INCR', wk)
    if n == 1 then redis.call('PEXPIRE', wk, window) end
    if n > max then
      redis.call('HSET', tk, 'until', now + interval, 'd', cnt, 'b', block and cnt or 0)
      redis.call('PEXPIRE', tk, interval + 600000)
      redis.call('DEL', wk)
      code = 1
    end
  end
  out[#out + 1] = code
  out[#out + 1] = sd
  out[#out + 1] = sb
end
return out
`);

const COLLECT = createScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, #ARGV do
  local tk = ARGV[1] .. 't:' .. ARGV[i]
  local untilv = redis.call('HGET', tk, 'until')
  if not untilv then
    out[#out + 1] = -1
    out[#out + 1] = 0
  elseif now >= tonumber(untilv) then
    out[#out + 1] = tonumber(redis.call('HGET', tk, 'd') or '0')
    out[#out + 1] = tonumber(redis.call('HGET', tk, 'b') or '0')
    redis.call('DEL', tk)
  else
    out[#out + 1] = -2
    out[#out + 1] = 0
  end
end
return out
`);

export type SharedThrottleOptions = {
  readonly enabled: boolean;
  readonly maxAlertsPerSec: number;
  readonly throttleSec: number;
  readonly maxKeys?: number;
  /** Length of a counting window; KubeArmor's is one second (the default). */
  readonly windowMs?: number;
};

export interface SharedThrottle {
  /** Decides a batch (one Redis call); resolves to what passes, plus notices and summaries, in order. */
  apply(events: readonly RelayEvent[], nowMs: number): Promise<RelayEvent[]>;
  /** Summaries of throttles (seen by this replica) whose interval ended. */
  tick(nowMs: number): Promise<RelayEvent[]>;
  /** Keys this replica watches for summaries. */
  readonly tracked: number;
}

export function createSharedThrottle(redis: Redis, keyPrefix: string, opts: SharedThrottleOptions, factory: RelayEventFactory, counters: Counters): SharedThrottle {
  const prefix = `${keyPrefix}throttle:`;
  const maxKeys = opts.maxKeys ?? 100_000;
  const tracked = new Map<string, Alert>(); // key hash -> a sample alert (identity for the summary)

  const identity = (a: Alert): Partial<Alert> => ({
    ClusterName: a.ClusterName, HostName: a.HostName, NamespaceName: a.NamespaceName, PodName: a.PodName, Labels: a.Labels,
    Owner: a.Owner, ContainerID: a.ContainerID, ContainerName: a.ContainerName, ContainerImage: a.ContainerImage,
    PolicyName: a.PolicyName, Action: a.Action, Type: 'SystemEvent', Operation: 'AlertThreshold', Enforcer: 'palisade-relay',
    MaxAlertsPerSec: opts.maxAlertsPerSec, DroppingAlertsInterval: opts.throttleSec,
  });
  const summary = (a: Alert, dropped: number, block: number, t: number): RelayEvent => factory.alert({
    ...identity(a),
    Message: `Alert throttle ended for policy ${a.PolicyName || '(none)'} action ${a.Action || '(none)'}: ${dropped} alerts dropped (${block} Block)`,
    Data: `DroppedAlertsCount=${dropped} DroppedBlockAlertsCount=${block}`,
  }, t);
  const track = (h: string, a: Alert): void => {
    tracked.delete(h);
    tracked.set(h, a);
    while (tracked.size > maxKeys) tracked.delete(tracked.keys().next().value as string);
  };
  const hashOf = (a: Alert): string =>
    createHash('sha1').update(`${a.ContainerID || `host:${a.HostName}`}\u0000${a.PolicyName}\u0000${a.Action}`).digest('hex');

  return {
    async apply(events, t) {
      const idx: number[] = [];
      const hashes: string[] = [];
      const args: Array<string | number> = [prefix, opts.maxAlertsPerSec, opts.throttleSec * 1000, opts.windowMs ?? 1000];
      if (opts.enabled) {
        events.forEach((ev, i) => {
          if (ev.body.$case !== 'alert' || ev.nodeId === RELAY_NODE_ID) return;
          const h = hashOf(ev.body.value);
          idx.push(i);
          hashes.push(h);
          args.push(h, ev.body.value.Action === 'Block' ? '1' : '0', ev.count);
        });
      }
      if (idx.length === 0) return [...events];
      const r = (await DECIDE.run(redis, [], args)) as number[];
      const decision = new Map<number, { code: number; sd: number; sb: number; h: string }>();
      idx.forEach((i, j) => decision.set(i, { code: Number(r[3 * j]), sd: Number(r[3 * j + 1]), sb: Number(r[3 * j + 2]), h: hashes[j] as string }));
      const out: RelayEvent[] = [];
      events.forEach((ev, i) => {
        const d = decision.get(i);
        if (!d || ev.body.$case !== 'alert') {
          out.push(ev);
          return;
        }
        const a = ev.body.value;
        if (d.sd > 0) {
          out.push(summary(tracked.get(d.h) ?? a, d.sd, d.sb, t));
          tracked.delete(d.h);
        }
        if (d.code === 0) {
          out.push(ev);
          return;
        }
        counters.inc('palisade_relay_throttled_alerts_total', { action: a.Action || 'none' }, ev.count);
        track(d.h, a);
        if (d.code === 1) {
          out.push(factory.alert({
            ...identity(a),
            Message: `Alert threshold reached for policy ${a.PolicyName || '(none)'} action ${a.Action || '(none)'}: more than ${opts.maxAlertsPerSec} alerts/s, dropping for ${opts.throttleSec} s`,
          }, t));
        }
      });
      return out;
    },
    async tick(t) {
      if (tracked.size === 0) return [];
      const hs = [...tracked.keys()];
      const out: RelayEvent[] = [];
      for (let i = 0; i < hs.length; i += 1000) {
        const part = hs.slice(i, i + 1000);
        const r = (await COLLECT.run(redis, [], [prefix, ...part])) as number[];
        part.forEach((h, j) => {
          const d = Number(r[2 * j]);
          const b = Number(r[2 * j + 1]);
          if (d === -2) return; // still throttled
          const sample = tracked.get(h);
          tracked.delete(h); // ended here (d >= 0), or elsewhere / expired (-1)
          if (d > 0 && sample) out.push(summary(sample, d, b, t));
        });
      }
      return out;
    },
    get tracked() {
      return tracked.size;
    },
  };
}
