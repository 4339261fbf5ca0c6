// Pass-through of the feeder Alert bytes an enforcer sent, instead of re-encoding
// the decoded Alert for the log stream.
//
// decodeIngestRequest() decodes an IngestRequest exactly as IngestRequest.decode
// does (the result is that object) and, for every batch entry holding an alert,
// remembers the alert's encoded bytes as received and a shallow copy of the decoded
// fields ("seen"). encodeReceivedAlert() later gives that alert's feeder encoding
// as those bytes followed by every field whose value differs from "seen" (the relay
// stamps ClusterName, HostName, Timestamp, UpdatedTime; enrichment sets namespace,
// pod, labels, owner, container; collapse edits Message; markUnknown adds a tag).
//
// Why that is the same message: a protobuf parser keeps the LAST occurrence of a
// scalar field and appends repeated elements, so bytes + changed fields decode to
// exactly the current Alert (test/unit/relay/passthrough.test.ts checks it against
// Alert.decode for random alerts and random edits). Every field is compared, not a
// list of the ones the relay happens to edit, so a new edit elsewhere cannot be
// missed. The bytes differ from Alert.encode's only in field order.
//
// Falls back (returns undefined: the caller encodes the whole Alert) when the edit
// cannot be expressed by appending: a field set back to its default, ATags changed
// other than by appending, Owner/ExecEvent replaced when one was received (nested
// messages merge instead of replacing), or an alert that did not come through
// decodeIngestRequest (upstream pulls, relay notices).
//
// Memory: the remembered bytes are a view of the gRPC message buffer (no copy), held
// by the decoded Alert itself, so they live exactly as long as the Alert.
import { Alert } from '../../proto/gen/feeder/kubearmor.js';
import { IngestRequest } from '../../proto/gen/palisade/v1/ingest.js';
import { encodeAlert } from './alert-encode.js';

type Received = { readonly bytes: Buffer; readonly seen: Alert; readonly atags: readonly string[] };

/** Where an Alert keeps its Received: a non-enumerable symbol property (invisible to
 * deepEqual, spread and JSON). Not a WeakMap: 20k entries/s of ephemerons made every
 * scavenge several times slower (measured: relay GC ~4x). */
const RECEIVED = Symbol('palisade.received');
type WithReceived = Alert & { [RECEIVED]?: Received };
const NONE: readonly string[] = [];
type Fields = Record<string, unknown>;
/** Every scalar field of Alert (strings, int32, Timestamp). */
const SCALARS: readonly string[] = Object.keys(Alert.create()).filter((k) => k !== 'ATags' && k !== 'Owner' && k !== 'ExecEvent');
/** All fields at their defaults; the changed ones are set, encoded after the received bytes, and reset. */
const scratch = Alert.create();
const DEFAULTS = Alert.create() as unknown as Fields;

function varint(b: Buffer, p: number): [number, number] | undefined {
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 8 && p < b.length; i++) {
    const c = b[p++] as number;
    x += (c & 0x7f) * mul;
    if (c < 0x80) return [x, p];
    mul *= 128;
  }
  return undefined; // longer than 2^53: not a length or tag we handle
}

/** Calls fn(field, start, end) for every length-delimited field in b[from, to); false when the bytes are not walkable. */
function walk(b: Buffer, from: number, to: number, fn: (field: number, start: number, end: number) => void): boolean {
  let p = from;
  while (p < to) {
    const t = varint(b, p);
    if (!t) return false;
    p = t[1];
    const wt = t[0] & 7;
    if (wt === 0) {
      while (p < to && ((b[p] as number) & 0x80) !== 0) p++;
      p++;
    } else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const l = varint(b, p);
      if (!l || l[1] + l[0] > to) return false;
      fn(Math.floor(t[0] / 8), l[1], l[1] + l[0]);
      p = l[1] + l[0];
    } else return false;
  }
  return p === to;
}

/** Per batch entry, the [start, end) of its alert when it holds exactly one alert field; undefined if not a single batch. */
function alertRanges(b: Buffer): Array<[number, number] | undefined> | undefined {
  let batch: [number, number] | undefined;
  let batches = 0;
  if (!walk(b, 0, b.length, (f, s, e) => {
    if (f === 2) {
      batch = [s, e];
      batches++;
    }
  }) || batches !== 1 || !batch) return undefined;
  const out: Array<[number, number] | undefined> = [];
  let ok = true;
  walk(b, batch[0], batch[1], (f, s, e) => {
    if (f !== 5) return;
    let alert: [number, number] | undefined;
    let alerts = 0;
    if (!walk(b, s, e, (g, as, ae) => {
      if (g === 2) {
        alert = [as, ae];
        alerts++;
      }
    })) ok = false;
    out.push(alerts === 1 ? alert : undefined);
  });
  return ok ? out : undefined;
}

/** IngestRequest.decode(b), remembering each batch alert's received bytes (see the header). */
export function decodeIngestRequest(b: Buffer): IngestRequest {
  const req = IngestRequest.decode(b);
  if (req.kind?.$case !== 'batch') return req;
  const entries = req.kind.value.entries;
  const ranges = alertRanges(b);
  if (!ranges || ranges.length !== entries.length) return req;
  for (let i = 0; i < entries.length; i++) {
    const r = ranges[i];
    const ev = entries[i]?.event;
    if (!r || ev?.$case !== 'alert') continue;
    const a = ev.value;
    Object.defineProperty(a, RECEIVED, { value: { bytes: b.subarray(r[0], r[1]), seen: { ...a }, atags: a.ATags.length === 0 ? NONE : a.ATags.slice() } });
  }
  return req;
}

const isDefault = (v: unknown): boolean => v === '' || v === 0 || v === 0n;

/** The alert's feeder encoding from its received bytes plus its changed fields, or undefined (encode it whole). */
export function encodeReceivedAlert(a: Alert): Buffer | undefined {
  const r = (a as WithReceived)[RECEIVED];
  if (!r) return undefined;
  const cur = a as unknown as Fields;
  const seen = r.seen as unknown as Fields;
  const s = scratch as unknown as Fields;
  const touched: string[] = [];
  try {
    for (const k of SCALARS) {
      const v = cur[k];
      if (v === seen[k]) continue;
      if (isDefault(v)) return undefined;
      s[k] = v;
      touched.push(k);
    }
    if (a.ATags.length !== r.atags.length || a.ATags !== r.seen.ATags) {
      if (a.ATags.length < r.atags.length) return undefined;
      for (let i = 0; i < r.atags.length; i++) if (a.ATags[i] !== r.atags[i]) return undefined;
      scratch.ATags = a.ATags.slice(r.atags.length);
    }
    if (a.Owner !== r.seen.Owner) {
      if (r.seen.Owner !== undefined || a.Owner === undefined) return undefined;
      scratch.Owner = a.Owner;
    }
    if (a.ExecEvent !== r.seen.ExecEvent) {
      if (r.seen.ExecEvent !== undefined || a.ExecEvent === undefined) return undefined;
      scratch.ExecEvent = a.ExecEvent;
    }
    return encodeAlert(scratch, r.bytes);
  } finally {
    for (const k of touched) s[k] = DEFAULTS[k];
    scratch.ATags = [];
    scratch.Owner = undefined;
    scratch.ExecEvent = undefined;
  }
}
