// Collapses repeats: alerts that are the same operation (same container or host,
// policy, action, operation, resource, process, source and result) within
// `windowMs` of the first one become one extra alert carrying the number of
// repeats in `count` (and in its Message, for feeder clients that have no count
// field). The first occurrence passes through at once; repeats are held and
// released by tick() when the window closes, so at most one aggregate per key per
// window is emitted and nothing is delayed by more than one window.
//
// Bounds: at most `maxKeys` open windows; past that the oldest window is closed
// early (its aggregate emitted, never dropped). Shutdown: tick(out, true) releases
// everything held. Logs and messages pass through untouched.
import { dropIngestBytes, type RelayEvent } from '../event.js';

type Window = { readonly openedAt: number; latest: RelayEvent | undefined; repeats: number };

export interface Collapser {
  push(ev: RelayEvent, out: RelayEvent[]): void;
  tick(out: RelayEvent[], force?: boolean): void;
  readonly held: number;
}

function keyOf(ev: RelayEvent): string | undefined {
  if (ev.body.$case !== 'alert') return undefined;
  const a = ev.body.value;
  return [a.ContainerID || `host:${a.HostName}`, a.PolicyName, a.Action, a.Operation, a.Resource, a.ProcessName, a.Source, a.Result].join('\u0000');
}

function release(w: Window, windowMs: number, out: RelayEvent[]): void {
  const ev = w.latest;
  if (!ev || w.repeats === 0 || ev.body.$case !== 'alert') return;
  ev.count = w.repeats;
  ev.wire = undefined; // Message changes below
  const a = ev.body.value;
  const note = `repeated ${w.repeats} times within ${windowMs} ms`;
  a.Message = a.Message === '' ? note : `${a.Message} (${note})`;
  out.push(ev);
}

export function createCollapser(windowMs: number, now: () => number, maxKeys = 100_000): Collapser {
  const windows = new Map<string, Window>();
  let held = 0;
  const close = (k: string, w: Window, out: RelayEvent[]): void => {
    windows.delete(k);
    held -= w.repeats > 0 ? 1 : 0;
    release(w, windowMs, out);
  };
  return {
    push(ev, out) {
      const k = windowMs > 0 ? keyOf(ev) : undefined;
      if (k === undefined) {
        out.push(ev);
        return;
      }
      const t = now();
      const w = windows.get(k);
      if (w && t - w.openedAt < windowMs) {
        if (w.repeats === 0) held++;
        w.repeats += ev.count;
        dropIngestBytes(ev); // held for up to a window: not a view of its ingest request (memory)
        w.latest = ev;
        return;
      }
      if (w) close(k, w, out);
      windows.set(k, { openedAt: t, latest: undefined, repeats: 0 });
      while (windows.size > maxKeys) {
        const first = windows.entries().next().value;
        if (!first) break;
        close(first[0], first[1], out);
      }
      out.push(ev);
    },
    tick(out, force = false) {
      const t = now();
      // Map order is insertion order = openedAt order, so stop at the first open window
      for (const [k, w] of windows) {
        if (!force && t - w.openedAt < windowMs) break;
        close(k, w, out);
      }
    },
    get held() {
      return held;
    },
  };
}
