// Alert throttling with KubeArmor's semantics, keyed finer: per (container or host,
// policy, action) instead of per container, so one noisy rule never hides another.
//
// Per key: alerts are counted in one-second windows; the alert that takes a window
// past `maxAlertsPerSec` turns the key throttled for `throttleSec` and is replaced
// by a SystemEvent / AlertThreshold alert carrying MaxAlertsPerSec and
// DroppingAlertsInterval (KubeArmor's fields). While throttled, the key's alerts
// are dropped and counted (Block alerts counted separately). When the interval
// ends, a second AlertThreshold alert reports DroppedAlertsCount (and the Block
// count) in its Data and Message, so every Block is either delivered or counted
// in a summary. Drops also go to palisade_relay_throttled_alerts_total{action}.
//
// Bounds: keys idle for more than two seconds are forgotten on tick(); at most
// `maxKeys` keys (the oldest is summarised and forgotten first). Shutdown:
// tick(out, true) emits every pending summary. Relay-generated alerts, logs and
// messages are never throttled.
import { RELAY_NODE_ID, type RelayEvent, type RelayEventFactory } from '../event.js';
import type { Counters } from '../metrics/counters.js';
import type { Alert } from '../../proto/gen/feeder/kubearmor.js';

export type ThrottleOptions = { readonly enabled: boolean; readonly maxAlertsPerSec: number; readonly throttleSec: number; readonly maxKeys?: number };

type KeyState = {
  windowStart: number;
  inWindow: number;
  throttledUntil: number; // 0: not throttled
  dropped: number;
  droppedBlock: number;
  lastSeen: number;
  readonly sample: Alert; // identity of the key, for notices
};

export interface Throttle {
  push(ev: RelayEvent, out: RelayEvent[]): void;
  tick(out: RelayEvent[], force?: boolean): void;
  readonly keys: number;
}

export function createThrottle(opts: ThrottleOptions, now: () => number, factory: RelayEventFactory, counters: Counters): Throttle {
  const states = new Map<string, KeyState>();
  const maxKeys = opts.maxKeys ?? 100_000;
  const intervalMs = opts.throttleSec * 1000;

  const identity = (a: Alert): Partial<Alert> => ({
    ClusterName: a.ClusterName, HostName: a.HostName, NamespaceName: a.NamespaceName, PodName: a.PodName, Labels: a.Labels,
    Owner: a.Owner, ContainerID: a.ContainerID, ContainerName: a.ContainerName, ContainerImage: a.ContainerImage,
    PolicyName: a.PolicyName, Action: a.Action, Type: 'SystemEvent', Operation: 'AlertThreshold', Enforcer: 'palisade-relay',
    MaxAlertsPerSec: opts.maxAlertsPerSec, DroppingAlertsInterval: opts.throttleSec,
  });

  const summary = (s: KeyState, t: number, out: RelayEvent[]): void => {
    if (s.dropped === 0) return;
    const a = s.sample;
    out.push(factory.alert({
      ...identity(a),
      Message: `Alert throttle ended for policy ${a.PolicyName || '(none)'} action ${a.Action || '(none)'}: ${s.dropped} alerts dropped (${s.droppedBlock} Block)`,
      Data: `DroppedAlertsCount=${s.dropped} DroppedBlockAlertsCount=${s.droppedBlock}`,
    }, t));
  };

  const forget = (k: string, s: KeyState, t: number, out: RelayEvent[]): void => {
    states.delete(k);
    summary(s, t, out);
  };

  return {
    push(ev, out) {
      if (!opts.enabled || ev.body.$case !== 'alert' || ev.nodeId === RELAY_NODE_ID) {
        out.push(ev);
        return;
      }
      const a = ev.body.value;
      const k = `${a.ContainerID || `host:${a.HostName}`}\u0000${a.PolicyName}\u0000${a.Action}`;
      const t = now();
      let s = states.get(k);
      if (s && s.throttledUntil !== 0 && t >= s.throttledUntil) {
        forget(k, s, t, out);
        s = undefined;
      }
      if (!s) {
        s = { windowStart: t, inWindow: 0, throttledUntil: 0, dropped: 0, droppedBlock: 0, lastSeen: t, sample: a };
        states.set(k, s);
        while (states.size > maxKeys) {
          const first = states.entries().next().value;
          if (!first) break;
          forget(first[0], first[1], t, out);
        }
      }
      s.lastSeen = t;
      if (s.throttledUntil !== 0) {
        s.dropped += ev.count;
        if (a.Action === 'Block') s.droppedBlock += ev.count;
        counters.inc('palisade_relay_throttled_alerts_total', { action: a.Action || 'none' }, ev.count);
        return;
      }
      if (t - s.windowStart >= 1000) {
        s.windowStart = t;
        s.inWindow = 0;
      }
      s.inWindow++;
      if (s.inWindow <= opts.maxAlertsPerSec) {
        out.push(ev);
        return;
      }
      s.throttledUntil = t + intervalMs;
      s.dropped += ev.count;
      if (a.Action === 'Block') s.droppedBlock += ev.count;
      counters.inc('palisade_relay_throttled_alerts_total', { action: a.Action || 'none' }, ev.count);
      out.push(factory.alert({
        ...identity(a),
        Message: `Alert threshold reached for policy ${a.PolicyName || '(none)'} action ${a.Action || '(none)'}: more than ${opts.maxAlertsPerSec} alerts/s, dropping for ${opts.throttleSec} s`,
      }, t));
    },
    tick(out, force = false) {
      const t = now();
      for (const [k, s] of states) {
        const expired = s.throttledUntil !== 0 && t >= s.throttledUntil;
        const idle = s.throttledUntil === 0 && t - s.lastSeen > 2000;
        if (force || expired || idle) forget(k, s, t, out);
      }
    },
    get keys() {
      return states.size;
    },
  };
}
