// Decodes a batch from the native addon. Copy delivery (decodeBatch): frames of [u32 len | flags][record], records as
// in bpf/include/palisade_event.h; the flags (bit 31 ASCII, bit 30 no "/." or "//" in any
// string, bit 29 a file record with the same paths as the frame before it) are hints
// computed by the native side (collector/native/src/record.h). Reads with a DataView over the batch (no
// copy of the batch; strings are decoded from it directly).
// Ring delivery (decodeRingBatch): the batch is a view of the kernel ring itself, in ring layout:
// [u32 len | busy bit 31 | discard bit 30][u32 pg_off][ring record][pad to 8 bytes], a ring record
// holding one record or a kernel batch of records at 8-byte aligned offsets; discarded records
// are skipped (not counted), a busy bit ends the batch (counted 'frame': the drain thread never
// hands out an uncommitted record). No native check ran and there are no string hints: every
// record is checked here (the same checks as the native pal_record_check) and strings take the
// general path (UTF-8, normalisation scan). The memory is read-only: never write to the batch.
// Invariants: never throws and never reads outside the batch; every record that fails a
// check is counted in DecodeCounters.bad[reason] and skipped, and decoding continues with
// the next frame. A frame length running past the batch ends the batch (counted 'frame').
// Events never reference the batch: the addon reuses its memory once onBatch returns.
// Speed (this runs once per kernel event): one object literal per kind with every property
// in a fixed order (one hidden class per kind); comm, cgroup id and start time are reused
// from the previous record when their bytes are equal (no new string or BigInt); strings of
// records the native side flagged all-ASCII are built as one-byte strings without UTF-8
// decoding, and paths it flagged canonical skip the normalisation scan; a file record it
// flagged as naming the same paths as the frame before it reuses that frame's path strings;
// timestamps are computed from two 32-bit halves, not from a BigInt.
import { posix } from 'node:path';
import type { CollectorEvent, FileOp, NetOp, SockAddr } from './events.js';
import * as L from './layout.js';
import { capabilityName } from './capabilities.js';

// Module-local copies: some loaders (tsx, CommonJS interop) turn every access to an
// imported binding into a getter call, which was a third of the decoder's time.
const { ABI_VERSION, ARGS_MAX, PATH_MAX, RECORD_MAX, UNIX_MAX } = L;
const EXEC = { ...L.EXEC }, EXIT = { ...L.EXIT }, FILE = { ...L.FILE }, FORK = { ...L.FORK }, HDR = { ...L.HDR };
const KIND = { ...L.KIND }, NET = { ...L.NET }, SYSCALL = { ...L.SYSCALL }, FLAG = { ...L.FLAG };
const CAP = { ...L.CAP }, CAP_FLAG = { ...L.CAP_FLAG };
const FILE_OPS = [...L.FILE_OPS], NET_OPS = [...L.NET_OPS];
const FRAME_ASCII = 0x80000000, FRAME_CANON = 0x40000000, FRAME_SAME = 0x20000000, FRAME_LEN = 0x1fffffff;
// JS-only frame bit (never set in a native frame: it lies in the length field, and a copy frame
// with it set runs past the batch): compare a file record's path bytes with the previous one's
// here (ring delivery has no native SAME hint)
const FRAME_COMPARE = 0x10000000;
const TWO32 = 4294967296;

export type BadReason = 'short' | 'size' | 'abi' | 'kind' | 'strings' | 'frame';

export type DecodeCounters = {
  records: number;
  bad: Record<BadReason, number>;
};

export function newDecodeCounters(): DecodeCounters {
  return { records: 0, bad: { short: 0, size: 0, abi: 0, kind: 0, strings: 0, frame: 0 } };
}

export type DecodeContext = {
  /** wall-clock ms at CLOCK_BOOTTIME 0 */
  readonly bootEpochMs: number;
};

// Buffer's one-byte string builder (what toString('latin1') ends in, without its argument
// handling); feature-tested so that a Node without it falls back to toString.
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
const HAS_LATIN1 = typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Slice === 'function';

/** Decodes every frame of `batch`, calling `sink` for each good record. Returns the count of good records. */
export function decodeBatch(batch: Uint8Array, ctx: DecodeContext, counters: DecodeCounters,
  sink: (ev: CollectorEvent) => void): number {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const total = batch.byteLength;
  let off = 0;
  let good = 0;
  prevFile = false;
  while (off < total) {
    if (total - off < 4) { counters.bad.frame++; break; }
    const frame = view.getUint32(off, true);
    const len = frame & FRAME_LEN;
    off += 4;
    if (len > total - off) { counters.bad.frame++; break; }
    const ev = decodeRecord(view, buf, off, len, ctx, counters, frame);
    if (ev) {
      good++;
      counters.records++;
      sink(ev);
    }
    off += len;
  }
  return good;
}

const RING_BUSY = 0x80000000, RING_DISCARD = 0x40000000, RING_LEN = 0x3fffffff;

/** Decodes a batch in ring layout (ring delivery), calling `sink` for each good record. Returns
 * the count of good records. Same guarantees as decodeBatch. */
export function decodeRingBatch(batch: Uint8Array, ctx: DecodeContext, counters: DecodeCounters,
  sink: (ev: CollectorEvent) => void): number {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const total = batch.byteLength;
  let off = 0;
  let good = 0;
  prevFile = false;
  while (off < total) {
    if (total - off < 8) { counters.bad.frame++; break; }
    const w = view.getUint32(off, true);
    const len = w & RING_LEN;
    off += 8;
    if ((w & RING_BUSY) !== 0 || len > total - off) { counters.bad.frame++; break; }
    if ((w & RING_DISCARD) === 0) {
      // one record, or a kernel batch of records at 8-byte aligned offsets (at least one: an
      // empty frame, or a rest whose header does not fit, counts one bad record)
      const end = off + len;
      let at = off;
      do {
        if (end - at < HDR.size) { counters.bad.short++; break; }
        const size = view.getUint16(at + HDR.recSize, true);
        if (size < HDR.size || size > end - at) { counters.bad.size++; break; }
        const ev = decodeRecord(view, buf, at, size, ctx, counters, FRAME_COMPARE);
        if (ev) {
          good++;
          counters.records++;
          sink(ev);
        }
        at += (size + 7) & ~7;
      } while (at < end);
    }
    off += (len + 7) & ~7;
  }
  return good;
}

type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };
const HAS_UTF8 = typeof (Buffer.prototype as Partial<Utf8Buffer>).utf8Slice === 'function';

function str(buf: Buffer, start: number, len: number, ascii: boolean): string {
  if (len === 0) return '';
  if (ascii && HAS_LATIN1) return (buf as Latin1Buffer).latin1Slice(start, start + len);
  if (HAS_UTF8) return (buf as Utf8Buffer).utf8Slice(start, start + len);
  return buf.toString('utf8', start, start + len);
}

// paths of the frame just before, when it decoded as a file record (FRAME_SAME refers to it),
// and where its strings lie in the batch (FRAME_COMPARE), with their lengths and header flags
let prevFile = false, prevPath = '', prevPath2: string | undefined;
let prevAt = 0, prevL1 = -1, prevL2 = -1, prevFlags = -1;

/** the n bytes at a and at b are equal; compared from the end, 4 at a time (paths that differ
 * mostly differ in their last component) */
function sameBytes(view: DataView, buf: Buffer, a: number, b: number, n: number): boolean {
  let i = n;
  while (i >= 4) {
    i -= 4;
    if (view.getInt32(a + i, true) !== view.getInt32(b + i, true)) return false;
  }
  while (i > 0) {
    i--;
    if (buf[a + i] !== buf[b + i]) return false;
  }
  return true;
}

// previous record's comm, cgroup id and start time, by their bytes
let commW0 = -1, commW1 = -1, commW2 = -1, commW3 = -1, commStr = '';
let cgLo = -1, cgHi = -1, cgVal = 0n;
let stLo = -1, stHi = -1, stVal = 0n;

function comm(view: DataView, buf: Buffer, at: number, ascii: boolean): string {
  const w0 = view.getInt32(at, true), w1 = view.getInt32(at + 4, true);
  const w2 = view.getInt32(at + 8, true), w3 = view.getInt32(at + 12, true);
  if (w0 === commW0 && w1 === commW1 && w2 === commW2 && w3 === commW3) return commStr;
  let end = at;
  const max = at + HDR.commLen;
  while (end < max && buf[end] !== 0) end++;
  commStr = str(buf, at, end - at, ascii);
  commW0 = w0; commW1 = w1; commW2 = w2; commW3 = w3;
  return commStr;
}

function cgroupId(view: DataView, at: number): bigint {
  const lo = view.getUint32(at, true), hi = view.getUint32(at + 4, true);
  if (lo !== cgLo || hi !== cgHi) { cgVal = view.getBigUint64(at, true); cgLo = lo; cgHi = hi; }
  return cgVal;
}

function startNs(view: DataView, at: number): bigint {
  const lo = view.getUint32(at, true), hi = view.getUint32(at + 4, true);
  if (lo !== stLo || hi !== stHi) { stVal = view.getBigUint64(at, true); stLo = lo; stHi = hi; }
  return stVal;
}

function normalise(path: string, flags: number, canon: boolean): string {
  if ((flags & FLAG.relative) !== 0 || (!canon && (path.includes('/.') || path.includes('//')))) {
    const n = posix.normalize(path);
    return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
  }
  return path;
}

/** Decodes one record at [off, off+len) of the batch; undefined (and counted) when bad.
 * `frame`: the frame header, whose flag bits are the native side's string hints. */
export function decodeRecord(view: DataView, buf: Buffer, off: number, len: number, ctx: DecodeContext,
  counters: DecodeCounters, frame = 0): CollectorEvent | undefined {
  const same = prevFile && (frame & FRAME_SAME) !== 0;
  const compare = prevFile && (frame & FRAME_COMPARE) !== 0;
  prevFile = false;
  if (len < HDR.size) { counters.bad.short++; return undefined; }
  const kind = view.getUint16(off + HDR.kind, true);
  const size = view.getUint16(off + HDR.recSize, true);
  if (size !== len || len > RECORD_MAX) { counters.bad.size++; return undefined; }
  if (view.getUint16(off + HDR.abi, true) !== ABI_VERSION) { counters.bad.abi++; return undefined; }
  const b = off + HDR.size;
  const end = off + len;
  // kind-specific checks first: a bad record costs no header decoding
  switch (kind) {
    case KIND.exec: {
      if (len < HDR.size + EXEC.size) { counters.bad.short++; return undefined; }
      const fl = view.getUint16(b + EXEC.filenameLen, true);
      const el = view.getUint16(b + EXEC.exeLen, true);
      const al = view.getUint16(b + EXEC.argsLen, true);
      if (fl > PATH_MAX || el > PATH_MAX || al > ARGS_MAX || b + EXEC.size + fl + el + al !== end) { counters.bad.strings++; return undefined; }
      break;
    }
    case KIND.fork:
      if (len !== HDR.size + FORK.size) { counters.bad[len < HDR.size + FORK.size ? 'short' : 'strings']++; return undefined; }
      break;
    case KIND.exit:
      if (len !== HDR.size + EXIT.size) { counters.bad[len < HDR.size + EXIT.size ? 'short' : 'strings']++; return undefined; }
      break;
    case KIND.file: {
      if (len < HDR.size + FILE.size) { counters.bad.short++; return undefined; }
      const l1 = view.getUint16(b + FILE.pathLen, true);
      const l2 = view.getUint16(b + FILE.path2Len, true);
      if (l1 > PATH_MAX || l2 > PATH_MAX || b + FILE.size + l1 + l2 !== end) { counters.bad.strings++; return undefined; }
      const opi = view.getUint16(b + FILE.op, true);
      if (opi < 1 || opi >= FILE_OPS.length) { counters.bad.kind++; return undefined; }
      break;
    }
    case KIND.net: {
      if (len < HDR.size + NET.size) { counters.bad.short++; return undefined; }
      const ul = view.getUint16(b + NET.unixLen, true);
      if (ul > UNIX_MAX || b + NET.size + ul !== end) { counters.bad.strings++; return undefined; }
      const opi = view.getUint16(b + NET.op, true);
      if (opi < 1 || opi >= NET_OPS.length) { counters.bad.kind++; return undefined; }
      break;
    }
    case KIND.syscall:
      if (len !== HDR.size + SYSCALL.size) { counters.bad[len < HDR.size + SYSCALL.size ? 'short' : 'strings']++; return undefined; }
      break;
    case KIND.cap:
      if (len !== HDR.size + CAP.size) { counters.bad[len < HDR.size + CAP.size ? 'short' : 'strings']++; return undefined; }
      break;
    default:
      counters.bad.kind++;
      return undefined;
  }

  // the header, shared by every kind
  const ascii = (frame & FRAME_ASCII) !== 0, canon = (frame & FRAME_CANON) !== 0;
  const flags = view.getUint16(off + HDR.flags, true);
  const bootNs = view.getBigUint64(off + HDR.tsNs, true);
  const timestamp = ctx.bootEpochMs
    + (view.getUint32(off + HDR.tsNs + 4, true) * TWO32 + view.getUint32(off + HDR.tsNs, true)) / 1e6;
  const pid = view.getUint32(off + HDR.pid, true);
  const tid = view.getUint32(off + HDR.tid, true);
  const ppid = view.getUint32(off + HDR.ppid, true);
  const nsPid = view.getUint32(off + HDR.nsPid, true);
  const nsTid = view.getUint32(off + HDR.nsTid, true);
  const nsPpid = view.getUint32(off + HDR.nsPpid, true);
  const uid = view.getUint32(off + HDR.uid, true);
  const gid = view.getUint32(off + HDR.gid, true);
  const cg = cgroupId(view, off + HDR.cgroupId);
  const mntNs = view.getUint32(off + HDR.mntNs, true);
  const pidNs = view.getUint32(off + HDR.pidNs, true);
  const start = startNs(view, off + HDR.startNs);
  const cm = comm(view, buf, off + HDR.comm, ascii);
  const ret = view.getInt32(off + HDR.ret, true);
  const sc = view.getUint32(off + HDR.syscall, true);
  const syscall = sc === 0xffffffff ? -1 : sc;
  const truncated = (flags & FLAG.truncated) !== 0;

  switch (kind) {
    case KIND.exec: {
      const fl = view.getUint16(b + EXEC.filenameLen, true);
      const el = view.getUint16(b + EXEC.exeLen, true);
      const al = view.getUint16(b + EXEC.argsLen, true);
      let s = b + EXEC.size;
      const filename = str(buf, s, fl, ascii); s += fl;
      const path = normalise(str(buf, s, el, ascii), flags, canon); s += el;
      const args = str(buf, s, al, ascii);
      const argv = args.length === 0 ? [] : (args.endsWith('\0') ? args.slice(0, -1) : args).split('\0');
      return {
        class: 'process', kind: 'exec', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        filename, path, argv, exeInode: Number(view.getBigUint64(b + EXEC.exeIno, true)),
      };
    }
    case KIND.fork:
      return {
        class: 'process', kind: 'fork', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        parentPid: view.getUint32(b + FORK.parentPid, true), parentTid: view.getUint32(b + FORK.parentTid, true),
        cloneFlags: view.getUint32(b + FORK.cloneFlags, true) + view.getUint32(b + FORK.cloneFlags + 4, true) * 4294967296,
      };
    case KIND.exit: {
      const code = view.getUint32(b + EXIT.exitCode, true);
      return {
        class: 'process', kind: 'exit', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        exitCode: (code >> 8) & 0xff, signal: code & 0x7f,
      };
    }
    case KIND.file: {
      const l1 = view.getUint16(b + FILE.pathLen, true);
      const l2 = view.getUint16(b + FILE.path2Len, true);
      const s = b + FILE.size;
      const op = FILE_OPS[view.getUint16(b + FILE.op, true)] as FileOp;
      const chown = op === 'chown';
      // same bytes, same header flags: the strings the previous frame built (path2 only for rename)
      const reuse = same || (compare && l1 === prevL1 && l2 === prevL2 && flags === prevFlags && prevAt + l1 + l2 <= s
        && sameBytes(view, buf, prevAt, s, l1 + l2));
      const path = reuse ? prevPath : normalise(str(buf, s, l1, ascii), flags, canon);
      const path2 = op !== 'rename' ? undefined : reuse && prevPath2 !== undefined ? prevPath2 : normalise(str(buf, s + l1, l2, ascii), flags, canon);
      prevFile = true; prevPath = path; prevPath2 = path2;
      prevAt = s; prevL1 = l1; prevL2 = l2; prevFlags = flags;
      return {
        class: 'file', kind: 'file', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        op,
        path,
        path2,
        fd: view.getInt32(b + FILE.fd, true),
        flags: view.getUint32(b + FILE.flags, true),
        mode: view.getUint32(b + FILE.mode, true),
        ownerUid: chown ? view.getUint32(b + FILE.uid, true) : undefined,
        ownerGid: chown ? view.getUint32(b + FILE.gid, true) : undefined,
      };
    }
    case KIND.net: {
      const ul = view.getUint16(b + NET.unixLen, true);
      const op = NET_OPS[view.getUint16(b + NET.op, true)] as NetOp;
      const fam = view.getUint16(b + NET.family, true);
      const family = fam === 2 ? 'inet' : fam === 10 ? 'inet6' : fam === 1 ? 'unix' : (`af${fam}` as const);
      const ip = family === 'inet' || family === 'inet6';
      return {
        class: 'network', kind: 'network', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        op, family,
        sockType: view.getUint16(b + NET.type, true),
        protocol: view.getUint16(b + NET.protocol, true),
        fd: view.getInt32(b + NET.fd, true),
        arg: view.getUint32(b + NET.arg, true),
        local: ip && op !== 'socket' ? addr(buf, b + NET.laddr, family, view.getUint16(b + NET.lport, true)) : undefined,
        remote: ip && (op === 'connect' || op === 'accept') ? addr(buf, b + NET.raddr, family, view.getUint16(b + NET.rport, true)) : undefined,
        unixPath: ul > 0 ? unixPath(buf.subarray(b + NET.size, b + NET.size + ul)) : undefined,
      };
    }
    case KIND.cap: {
      const cap = view.getUint32(b + CAP.cap, true);
      const cf = view.getUint32(b + CAP.flags, true);
      return {
        class: 'capability', kind: 'capability', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        cap, capName: capabilityName(cap),
        targetUserns: view.getUint32(b + CAP.targetUserns, true),
        capableUserns: view.getUint32(b + CAP.capableUserns, true),
        ownUserns: (cf & CAP_FLAG.ownUserns) !== 0,
        realCred: (cf & CAP_FLAG.realCred) !== 0,
        suppressed: view.getUint32(b + CAP.suppressed, true),
      };
    }
    default: {
      const args: bigint[] = [];
      for (let i = 0; i < 6; i++) args.push(view.getBigUint64(b + i * 8, true));
      return {
        class: 'syscall', kind: 'syscall', bootNs, timestamp, pid, tid, ppid, nsPid, nsTid, nsPpid, uid, gid,
        cgroupId: cg, mntNs, pidNs, startNs: start, comm: cm, ret, syscall, truncated, exe: '', container: undefined,
        args,
      };
    }
  }
}

/** A pathname sun_path ends at its NUL; an abstract one starts with NUL and is shown as '@name'. */
function unixPath(bytes: Buffer): string {
  if (bytes[0] === 0) return '@' + bytes.subarray(1).toString('latin1').replace(/\0+$/, '');
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
}

function addr(buf: Buffer, at: number, family: 'inet' | 'inet6', port: number): SockAddr {
  if (family === 'inet') return { address: `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`, port };
  return { address: formatIPv6(buf.subarray(at, at + 16)), port };
}

export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
