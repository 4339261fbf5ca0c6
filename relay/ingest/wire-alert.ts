// An Alert read in place from the bytes ingest received: the fields the relay reads
// or sets on every alert (EAGER_FIELDS) are read at once; the others are decoded
// together, by the generated Alert.decode of the same bytes, on the first read or
// write of any of them.
//
// Why: an alert that reaches the log-stream clients unchanged is forwarded as the
// bytes ingest received (RelayEvent.wire, serve/alert-encode.ts encodeAlertWireView).
// Decoding all of its fields only to forward those bytes was the largest cost of
// ingest (a string per field, an object of 37 fields).
//
// Invariants:
// - readWireAlert accepts only bytes that Alert.decode decodes without error, and a
//   WireAlert's every field equals Alert.decode's (test/unit/relay/wire-alert.test.ts):
//   it follows the ordinary encoding (known fields with their declared wire types,
//   unknown fields skipped, the last value of a field wins) and ASCII strings only.
//   Anything else (non-ASCII bytes in a string, a known field with another wire type,
//   groups, field 0, varints beyond its bounds) returns undefined: the caller decodes
//   with the generated decoder (batch-scan.ts readScannedEntries).
// - So every string field of an accepted alert is valid UTF-8 and decodes to its bytes
//   exactly, which is what forwarding the bytes needs (Go clients refuse invalid UTF-8).
// - The bytes must not change while the alert lives (they are the ingest request's
//   buffer, which RelayEvent.wire keeps too).
import { Alert, type ExecEvent, type Podowner } from '../../proto/gen/feeder/kubearmor.js';
import type { BytesHolder } from '../event.js';
import { allAscii, asciiString, InterningReader, viewOf, type StringCache } from './interning-reader.js';

/**
 * Read from the bytes at once: what ingest's fill, enrichment, identityBits,
 * alert-encode's wire path, and the throttle and collapse keys (both on by default in
 * `palisade relay`) use.
 */
export const EAGER_FIELDS = [
  'Timestamp', 'UpdatedTime', 'ClusterName', 'HostName', 'NamespaceName', 'Owner', 'PodName', 'Labels',
  'ContainerID', 'ContainerName', 'ContainerImage', 'PolicyName', 'Action',
  'Operation', 'Resource', 'ProcessName', 'Source', 'Result',
] as const;

/** Decoded together on first use. */
export const LAZY_FIELDS = [
  'HostPPID', 'HostPID', 'PPID', 'PID', 'UID', 'ParentProcessName', 'Severity', 'Tags', 'ATags',
  'Message', 'Type', 'Data', 'Enforcer', 'Cwd', 'TTY',
  'MaxAlertsPerSec', 'DroppingAlertsInterval', 'ExecEvent', 'KubeArmorVersion',
] as const;

type LazyField = (typeof LAZY_FIELDS)[number];

const EMPTY = Buffer.alloc(0);

export class WireAlert implements Alert, BytesHolder {
  Timestamp = 0n;
  UpdatedTime = '';
  ClusterName = '';
  HostName = '';
  NamespaceName = '';
  Owner: Podowner | undefined = undefined;
  PodName = '';
  Labels = '';
  ContainerID = '';
  ContainerName = '';
  ContainerImage = '';
  PolicyName = '';
  Action = '';
  Operation = '';
  Resource = '';
  ProcessName = '';
  Source = '';
  Result = '';
  // LAZY_FIELDS: accessors on the prototype (the static block below)
  declare HostPPID: number;
  declare HostPID: number;
  declare PPID: number;
  declare PID: number;
  declare UID: number;
  declare ParentProcessName: string;
  declare Severity: string;
  declare Tags: string;
  declare ATags: string[];
  declare Message: string;
  declare Type: string;
  declare Data: string;
  declare Enforcer: string;
  declare Cwd: string;
  declare TTY: string;
  declare MaxAlertsPerSec: number;
  declare DroppingAlertsInterval: number;
  declare ExecEvent: ExecEvent | undefined;
  declare KubeArmorVersion: string;

  #raw: Buffer;
  readonly #start: number;
  readonly #end: number;
  readonly #cache: StringCache;
  #lazy: Alert | undefined;

  constructor(raw: Buffer, start: number, end: number, cache: StringCache) {
    this.#raw = raw;
    this.#start = start;
    this.#end = end;
    this.#cache = cache;
  }

  /** The lazy fields (and the eager ones, unused), decoded through the string cache. */
  #decodeLazy(): Alert {
    return (this.#lazy ??= Alert.decode(new InterningReader(this.#raw.subarray(this.#start, this.#end), this.#cache)));
  }

  /** Decodes the lazy fields now and drops the reference to the received bytes (event.ts dropIngestBytes). */
  detach(): void {
    this.#decodeLazy();
    this.#raw = EMPTY;
  }

  /** Whether the lazy fields have been decoded (tests and diagnosis). */
  get lazyDecoded(): boolean {
    return this.#lazy !== undefined;
  }

  static {
    for (const f of LAZY_FIELDS) {
      Object.defineProperty(WireAlert.prototype, f, {
        get(this: WireAlert): unknown {
          return this.#decodeLazy()[f];
        },
        set(this: WireAlert, v: unknown) {
          (this.#decodeLazy() as Record<LazyField, unknown>)[f] = v;
        },
        enumerable: true,
        configurable: false,
      });
    }
  }
}

// What a field number of feeder.Alert is, for the walk.
const UNKNOWN = 0;
const INT32 = 1;
const LAZY_STRING = 2;
const EAGER_STRING = 3;
const TIMESTAMP = 4;
const OWNER = 5;
const EXEC_EVENT = 6;
const KIND = new Uint8Array(38);
for (const n of [9, 10, 11, 12, 27, 34, 35]) KIND[n] = INT32;
for (const n of [14, 15, 16, 17, 21, 25, 28, 30, 32, 33, 37]) KIND[n] = LAZY_STRING;
for (const n of [2, 3, 4, 5, 6, 7, 8, 13, 18, 19, 20, 22, 23, 24, 26, 29]) KIND[n] = EAGER_STRING;
KIND[1] = TIMESTAMP;
KIND[31] = OWNER;
KIND[36] = EXEC_EVENT;

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

// The walk's cursor: the walk is synchronous, so one per process.
let p = 0;
// The last Timestamp read (alerts of one second in a row share their bigint).
let lastTimestamp = 0;
let lastTimestampBig = 0n;

/** A varint of at most 28 bits (tags, lengths) ending before `end`, or -1. */
function smallVarint(b: Buffer, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (p >= end) return -1;
    const x = b[p++] as number;
    v |= (x & 0x7f) << shift;
    if (x < 0x80) return v;
  }
  return -1;
}

/** Skips a varint of at most 10 bytes; false when longer or truncated. */
function skipVarint(b: Buffer, end: number): boolean {
  for (let i = 0; i < 10; i++) {
    if (p >= end) return false;
    if ((b[p++] as number) < 0x80) return true;
  }
  return false;
}

/** Skips a field of wire type `wt` that is not decoded; false when the bytes do not allow it. */
function skipField(b: Buffer, end: number, wt: number): boolean {
  if (wt === VARINT) return skipVarint(b, end);
  let n: number;
  if (wt === LEN) {
    n = smallVarint(b, end);
    if (n < 0) return false;
  } else if (wt === FIXED64) n = 8;
  else if (wt === FIXED32) n = 4;
  else return false; // groups (3, 4) and 6, 7: the generated decoder decides
  if (n > end - p) return false;
  p += n;
  return true;
}

/** Walks a nested message of string fields 1..`strings` (ASCII) and unknown fields. */
function walkStrings(b: Buffer, end: number, strings: number, out?: (field: number, at: number, len: number) => boolean): boolean {
  while (p < end) {
    const t = smallVarint(b, end);
    const field = t >>> 3;
    const wt = t & 7;
    if (t < 0 || field === 0) return false;
    if (field > strings) {
      if (!skipField(b, end, wt)) return false;
      continue;
    }
    if (wt !== LEN) return false;
    const n = smallVarint(b, end);
    if (n < 0 || n > end - p) return false;
    if (out === undefined ? !allAscii(viewOf(b), p, p + n) : !out(field, p, n)) return false;
    p += n;
  }
  return p === end;
}

/**
 * The alert in b[start, end) as a WireAlert, or undefined when the walk does not accept
 * the bytes (see the invariants above; the caller then uses Alert.decode).
 */
export function readWireAlert(b: Buffer, start: number, end: number, cache: StringCache): WireAlert | undefined {
  const a = new WireAlert(b, start, end, cache);
  p = start;
  while (p < end) {
    const t = smallVarint(b, end);
    const field = t >>> 3;
    const wt = t & 7;
    if (t < 0 || field === 0) return undefined;
    const kind = field < KIND.length ? KIND[field] as number : UNKNOWN;
    if (kind === UNKNOWN) {
      if (!skipField(b, end, wt)) return undefined;
      continue;
    }
    if (kind === INT32) {
      if (wt !== VARINT || !skipVarint(b, end)) return undefined;
      continue;
    }
    if (kind === TIMESTAMP) {
      if (wt !== VARINT) return undefined;
      // at most 7 bytes (49 bits): exact as a number; anything larger goes to the decoder
      let v = 0;
      let scale = 1;
      for (let i = 0; ; i++) {
        if (i === 7 || p >= end) return undefined;
        const x = b[p++] as number;
        v += (x & 0x7f) * scale;
        scale *= 128;
        if (x < 0x80) break;
      }
      if (v !== lastTimestamp) {
        lastTimestamp = v;
        lastTimestampBig = BigInt(v);
      }
      a.Timestamp = lastTimestampBig;
      continue;
    }
    if (wt !== LEN) return undefined;
    const n = smallVarint(b, end);
    if (n < 0 || n > end - p) return undefined;
    const at = p;
    if (kind === OWNER) {
      const o: Podowner = { Ref: '', Name: '', Namespace: '' };
      const ok = walkStrings(b, at + n, 3, (f, s, len) => {
        const v = asciiString(cache, b, s, len);
        if (v === undefined) return false;
        if (f === 1) o.Ref = v;
        else if (f === 2) o.Name = v;
        else o.Namespace = v;
        return true;
      });
      if (!ok) return undefined;
      a.Owner = o; // the last occurrence replaces the earlier ones, as the generated decoder does
      continue;
    }
    if (kind === EXEC_EVENT) {
      if (!walkStrings(b, at + n, 2)) return undefined;
      continue;
    }
    p = at + n;
    if (kind === LAZY_STRING) {
      if (!allAscii(viewOf(b), at, at + n)) return undefined;
      continue;
    }
    const s = asciiString(cache, b, at, n);
    if (s === undefined) return undefined;
    switch (field) {
      case 2: a.UpdatedTime = s; break;
      case 3: a.ClusterName = s; break;
      case 4: a.HostName = s; break;
      case 5: a.NamespaceName = s; break;
      case 6: a.PodName = s; break;
      case 7: a.ContainerID = s; break;
      case 8: a.ContainerName = s; break;
      case 13: a.PolicyName = s; break;
      case 18: a.Source = s; break;
      case 19: a.Operation = s; break;
      case 20: a.Resource = s; break;
      case 22: a.Action = s; break;
      case 23: a.Result = s; break;
      case 24: a.ContainerImage = s; break;
      case 26: a.ProcessName = s; break;
      default: a.Labels = s; break; // 29
    }
  }
  return p === end ? a : undefined;
}
