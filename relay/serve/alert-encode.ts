// feeder.Alert to protobuf bytes, byte for byte what the generated Alert.encode
// (ts-proto over @bufbuild/protobuf's BinaryWriter) produces — same fields, same
// order, defaults omitted — but written straight into one reused scratch Buffer
// and copied out once, instead of BinaryWriter's chunk list and per-string
// TextEncoder calls. Every event that reaches a log-stream client is encoded once
// (encode.ts), so this is on the relay's per-event path.
// test/unit/relay/alert-encode.test.ts compares it with Alert.encode on generated
// alerts (every field, non-ASCII, negative int32, large int64, nested messages).
// A field added to the proto must be added here too: the test fails until it is.
import type { Alert, ExecEvent, Podowner } from '../../proto/gen/feeder/kubearmor.js';
import {
  FILLED_CLUSTER_NAME, FILLED_HOST_NAME, FILLED_TIMESTAMP, FILLED_UPDATED_TIME, IDENTITY_OWNER, identityBits, type AlertWire,
} from '../event.js';

let buf = Buffer.allocUnsafe(64 * 1024);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function varint(v: number): void {
  // v >= 0 and < 2^53
  ensure(10);
  while (v > 0x7f) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
}

function int32(tag: number, v: number): void {
  if (v === 0) return;
  varint(tag);
  if (v > 0) varint(v);
  else int64(BigInt(v)); // negative int32: ten-byte two's complement varint
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function int64(v: bigint): void {
  if (v >= 0n && v <= SAFE) {
    varint(Number(v)); // the common case (Timestamp in seconds) without BigInt arithmetic per byte
    return;
  }
  ensure(10);
  let u = BigInt.asUintN(64, v);
  while (u > 0x7fn) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
}

function str(tag: number, s: string): void {
  if (s === '') return;
  varint(tag);
  writeString(s);
}

function writeString(s: string): void {
  if (s.length < 43) {
    // at most 126 UTF-8 bytes: the length fits in one byte, written after the string
    ensure(1 + 3 * s.length);
    const at = pos++;
    // ASCII by hand (cheaper than a native call for short strings); else UTF-8 by Buffer.write
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i] = c;
    }
    const n = i === s.length ? i : buf.write(s, pos, 'utf8');
    buf[at] = n;
    pos += n;
    return;
  }
  const n = Buffer.byteLength(s, 'utf8');
  varint(n);
  ensure(n);
  pos += buf.write(s, pos, n, 'utf8');
}

/** A nested message: tag, length, body (body written by `fn`, moved when the length needs more than one byte). */
function nested(tag: number, fn: () => void): void {
  varint(tag);
  ensure(1);
  const at = pos++;
  const start = pos;
  fn();
  const len = pos - start;
  if (len < 128) {
    buf[at] = len;
    return;
  }
  let lenBytes = 1;
  for (let v = len; v > 0x7f; v = Math.floor(v / 128)) lenBytes++;
  ensure(lenBytes - 1);
  buf.copy(buf, start + lenBytes - 1, start, pos);
  pos = at;
  varint(len);
  pos += len;
}

function owner(o: Podowner): void {
  str(10, o.Ref);
  str(18, o.Name);
  str(26, o.Namespace);
}

function execEvent(e: ExecEvent): void {
  str(10, e.ExecID);
  str(18, e.ExecutableName);
}

/**
 * The run of fields from NamespaceName to ContainerImage (Kubernetes identity and
 * container id: the same for every alert of a container once enriched), encoded once
 * per container and copied while the alert's fields equal the cached ones (compared
 * by value; enrichment assigns the same string objects, so this is mostly pointer
 * compares). Bounded: cleared when it holds MAX_BLOCKS containers.
 */
type IdentityBlock = {
  readonly ns: string; readonly pod: string; readonly labels: string; readonly cname: string; readonly image: string;
  readonly ownerRef: string | undefined; readonly ownerName: string; readonly ownerNs: string;
  readonly bytes: Buffer;
};
const MAX_BLOCKS = 10_000;
const blocks = new Map<string, IdentityBlock>();

function identityBlock(m: Alert): void {
  const cid = m.ContainerID;
  const o = m.Owner;
  const b = cid === '' ? undefined : blocks.get(cid);
  if (b !== undefined && b.ns === m.NamespaceName && b.pod === m.PodName && b.labels === m.Labels && b.cname === m.ContainerName
    && b.image === m.ContainerImage && b.ownerRef === o?.Ref && (o === undefined || (b.ownerName === o.Name && b.ownerNs === o.Namespace))) {
    ensure(b.bytes.length);
    b.bytes.copy(buf, pos);
    pos += b.bytes.length;
    return;
  }
  const start = pos;
  str(42, m.NamespaceName);
  if (o !== undefined) nested(250, () => owner(o));
  str(50, m.PodName);
  str(234, m.Labels);
  str(58, cid);
  str(66, m.ContainerName);
  str(194, m.ContainerImage);
  if (cid === '') return;
  if (blocks.size >= MAX_BLOCKS) blocks.clear();
  blocks.set(cid, {
    ns: m.NamespaceName, pod: m.PodName, labels: m.Labels, cname: m.ContainerName, image: m.ContainerImage,
    ownerRef: o?.Ref, ownerName: o?.Name ?? '', ownerNs: o?.Namespace ?? '', bytes: Buffer.from(buf.subarray(start, pos)),
  });
}

export function encodeAlert(m: Alert): Buffer {
  return Buffer.from(encodeAlertView(m));
}

/**
 * Like encodeAlert, but the bytes are a view of the encoder's scratch buffer, valid only
 * until the next encode: for a caller that copies them at once (the hub's arena).
 */
export function encodeAlertView(m: Alert): Buffer {
  pos = 0;
  if (m.Timestamp !== 0n) {
    varint(8);
    int64(m.Timestamp);
  }
  str(18, m.UpdatedTime);
  str(26, m.ClusterName);
  str(34, m.HostName);
  identityBlock(m);
  int32(216, m.HostPPID);
  int32(72, m.HostPID);
  int32(80, m.PPID);
  int32(88, m.PID);
  int32(96, m.UID);
  str(202, m.ParentProcessName);
  str(210, m.ProcessName);
  str(106, m.PolicyName);
  str(114, m.Severity);
  str(122, m.Tags);
  for (const t of m.ATags) {
    varint(242);
    writeString(t);
  }
  str(130, m.Message);
  str(138, m.Type);
  str(146, m.Source);
  str(154, m.Operation);
  str(162, m.Resource);
  str(170, m.Data);
  str(226, m.Enforcer);
  str(178, m.Action);
  str(186, m.Result);
  str(258, m.Cwd);
  str(266, m.TTY);
  int32(272, m.MaxAlertsPerSec);
  int32(280, m.DroppingAlertsInterval);
  if (m.ExecEvent !== undefined) {
    const e = m.ExecEvent;
    nested(290, () => execEvent(e));
  }
  str(298, m.KubeArmorVersion);
  return buf.subarray(0, pos);
}

/**
 * The alert as the bytes ingest received (`w.raw[w.start, w.end)`) followed by the fields ingest
 * filled and the identity run (NamespaceName..ContainerImage, as identityBlock writes
 * it): a protobuf parser keeps the last value of a repeated scalar field, so these
 * bytes decode to `m` without decoding and re-encoding its other fields. Not in field
 * order, so not byte-identical to Alert.encode(m); equal once decoded.
 * undefined (the caller encodes `m`) when appending cannot express `m`: the received
 * bytes had an Owner (nested messages merge instead of being replaced), or set an
 * identity field that `m` now has empty (an empty string is not written, so the old
 * value would stay). A view of the scratch buffer, valid until the next encode.
 */
export function encodeAlertWireView(m: Alert, w: AlertWire): Buffer | undefined {
  if ((w.identity & IDENTITY_OWNER) !== 0 || (w.identity & ~identityBits(m)) !== 0) return undefined;
  pos = 0;
  ensure(w.end - w.start);
  pos = w.raw.copy(buf, 0, w.start, w.end);
  const f = w.filled;
  if ((f & FILLED_TIMESTAMP) !== 0 && m.Timestamp !== 0n) {
    varint(8);
    int64(m.Timestamp);
  }
  if ((f & FILLED_UPDATED_TIME) !== 0) str(18, m.UpdatedTime);
  if ((f & FILLED_CLUSTER_NAME) !== 0) str(26, m.ClusterName);
  if ((f & FILLED_HOST_NAME) !== 0) str(34, m.HostName);
  identityBlock(m);
  return buf.subarray(0, pos);
}
