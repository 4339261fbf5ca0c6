// Random feeder.Alerts for encoder and decoder tests: every string field drawn from
// `strings` (empty a third of the time, else one to three pieces joined), every int32
// from a set of edge values, ATags, Owner and ExecEvent present at random.
import { Alert } from '../../proto/gen/feeder/kubearmor.js';

export type RandomAlertOptions = {
  /** Pieces that strings are made of. */
  readonly pieces: readonly string[];
  readonly timestamps: readonly bigint[];
};

export function randomAlert(next: () => number, o: RandomAlertOptions): Alert {
  const rnd = (n: number): number => Math.floor(next() * n);
  const s = (): string => (rnd(3) === 0 ? '' : Array.from({ length: 1 + rnd(3) }, () => o.pieces[rnd(o.pieces.length)]).join(''));
  const i32 = (): number => [0, 1, -1, 127, 128, 2147483647, -2147483648, rnd(100000) - 50000][rnd(8)] as number;
  const a = Alert.create();
  const rec = a as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string') rec[k] = s();
    else if (typeof v === 'number') rec[k] = i32();
  }
  a.Timestamp = o.timestamps[rnd(o.timestamps.length)] as bigint;
  a.ATags = Array.from({ length: rnd(4) }, s);
  if (rnd(2) === 0) a.Owner = { Ref: s(), Name: s(), Namespace: s() };
  if (rnd(2) === 0) a.ExecEvent = { ExecID: s(), ExecutableName: s() };
  return a;
}
