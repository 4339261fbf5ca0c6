// Labelled monotonic counters for the relay (palisade_relay_<name>_total{labels}).
// Every drop, rejection and cut-off in the relay increments one of these, so that
// nothing is lost silently. Cheap enough for per-batch use; per-event callers add
// counts in bulk (inc(name, labels, n)). Gauges (current values such as
// palisade_relay_spool_bytes) are set() in the same table: names without `_total`.
export type Labels = Readonly<Record<string, string>>;

export interface Counters {
  inc(name: string, labels?: Labels, n?: number): void;
  /** Sets a gauge (a current value, not a count). */
  set(name: string, labels: Labels, value: number): void;
  get(name: string, labels?: Labels): number;
  /** Sum over every label set of `name`. */
  total(name: string): number;
  snapshot(): ReadonlyArray<{ name: string; labels: Labels; value: number }>;
}

const keyOf = (name: string, labels: Labels): string =>
  name + '{' + Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',') + '}';

export function createCounters(): Counters {
  const values = new Map<string, { name: string; labels: Labels; value: number }>();
  return {
    inc(name, labels = {}, n = 1) {
      if (n === 0) return;
      const k = keyOf(name, labels);
      const cur = values.get(k);
      if (cur) cur.value += n;
      else values.set(k, { name, labels: { ...labels }, value: n });
    },
    set(name, labels, value) {
      const k = keyOf(name, labels);
      const cur = values.get(k);
      if (cur) cur.value = value;
      else values.set(k, { name, labels: { ...labels }, value });
    },
    get(name, labels = {}) {
      return values.get(keyOf(name, labels))?.value ?? 0;
    },
    total(name) {
      let sum = 0;
      for (const v of values.values()) if (v.name === name) sum += v.value;
      return sum;
    },
    snapshot() {
      return [...values.values()].map((v) => ({ ...v }));
    },
  };
}
