// Decodes a batch from the native addon: frames of [u32 len][record], records as in
// bpf/include/palisade_event.h. Reads with a DataView over the batch (no copy of the
// batch; strings are decoded from it directly).
// Invariants: never throws and never reads outside the batch; every record that fails a
// check is counted in DecodeCounters.bad[reason] and skipped, and decoding continues with
// the next frame. A frame length running past the batch ends the batch (counted 'frame').
import { posix } from 'node:path';
import type {
  CollectorEvent, EventBase, ExecEvent, ExitEvent, FileEvent, FileOp, ForkEvent, NetEvent, NetOp, SockAddr, SyscallEvent,
} from './events.js';
import * as L from './layout.js';

// Module-local copies: some loaders (tsx, CommonJS interop) turn every access to an
// imported binding into a getter call, which was a third of the decoder's time.
const { ABI_VERSION, ARGS_MAX, PATH_MAX, RECORD_MAX, UNIX_MAX } = L;
const EXEC = { ...L.EXEC }, EXIT = { ...L.EXIT }, FILE = { ...L.FILE }, FORK = { ...L.FORK }, HDR = { ...L.HDR };
const KIND = { ...L.KIND }, NET = { ...L.NET }, SYSCALL = { ...L.SYSCALL }, FLAG = { ...L.FLAG };
const FILE_OPS = [...L.FILE_OPS], NET_OPS = [...L.NET_OPS];

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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Decodes every frame of `batch`, calling `sink` for each good record. Returns the count of good records. */
export function decodeBatch(batch: Uint8Array, ctx: DecodeContext, counters: DecodeCounters,
  sink: (ev: CollectorEvent) => void): number {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  let off = 0;
  let good = 0;
  while (off < batch.byteLength) {
    if (batch.byteLength - off < 4) { counters.bad.frame++; break; }
    const len = view.getUint32(off, true);
    off += 4;
    if (len > batch.byteLength - off) { counters.bad.frame++; break; }
    const ev = decodeRecord(view, buf, off, len, ctx, counters);
    if (ev) {
      good++;
      counters.records++;
      sink(ev);
    }
    off += len;
  }
  return good;
}

function str(buf: Buffer, start: number, len: number): string {
  return len === 0 ? '' : buf.toString('utf8', start, start + len);
}

function cstr(buf: Buffer, start: number, max: number): string {
  let end = start;
  while (end < start + max && buf[end] !== 0) end++;
  return buf.toString('utf8', start, end);
}

function normalise(path: string, flags: number): string {
  if ((flags & FLAG.relative) !== 0 || path.includes('/.') || path.includes('//')) {
    const n = posix.normalize(path);
    return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
  }
  return path;
}

/** Decodes one record at [off, off+len) of the batch; undefined (and counted) when bad. */
export function decodeRecord(view: DataView, buf: Buffer, off: number, len: number, ctx: DecodeContext,
  counters: DecodeCounters): CollectorEvent | undefined {
  if (len < HDR.size) { counters.bad.short++; return undefined; }
  const kind = view.getUint16(off + HDR.kind, true);
  const size = view.getUint16(off + HDR.recSize, true);
  if (size !== len || len > RECORD_MAX) { counters.bad.size++; return undefined; }
  if (view.getUint16(off + HDR.abi, true) !== ABI_VERSION) { counters.bad.abi++; return undefined; }
  const flags = view.getUint16(off + HDR.flags, true);
  const bootNs = view.getBigUint64(off + HDR.tsNs, true);
  const sc = view.getUint32(off + HDR.syscall, true);
  // one object per event, properties added in a fixed order per kind (no spread: spreading
  // ~25 properties per event was the decoder's main cost)
  const base: Mutable<Omit<EventBase, 'class'>> & Record<string, unknown> = {
    bootNs,
    timestamp: ctx.bootEpochMs + Number(bootNs) / 1e6,
    pid: view.getUint32(off + HDR.pid, true),
    tid: view.getUint32(off + HDR.tid, true),
    ppid: view.getUint32(off + HDR.ppid, true),
    nsPid: view.getUint32(off + HDR.nsPid, true),
    nsTid: view.getUint32(off + HDR.nsTid, true),
    nsPpid: view.getUint32(off + HDR.nsPpid, true),
    uid: view.getUint32(off + HDR.uid, true),
    gid: view.getUint32(off + HDR.gid, true),
    cgroupId: view.getBigUint64(off + HDR.cgroupId, true),
    mntNs: view.getUint32(off + HDR.mntNs, true),
    pidNs: view.getUint32(off + HDR.pidNs, true),
    startNs: view.getBigUint64(off + HDR.startNs, true),
    comm: cstr(buf, off + HDR.comm, HDR.commLen),
    ret: view.getInt32(off + HDR.ret, true),
    syscall: sc === 0xffffffff ? -1 : sc,
    truncated: (flags & FLAG.truncated) !== 0,
    exe: '',
    container: undefined,
  };
  const b = off + HDR.size;
  const end = off + len;
  switch (kind) {
    case KIND.exec: {
      if (len < HDR.size + EXEC.size) { counters.bad.short++; return undefined; }
      const fl = view.getUint16(b + EXEC.filenameLen, true);
      const el = view.getUint16(b + EXEC.exeLen, true);
      const al = view.getUint16(b + EXEC.argsLen, true);
      let s = b + EXEC.size;
      if (fl > PATH_MAX || el > PATH_MAX || al > ARGS_MAX || s + fl + el + al !== end) { counters.bad.strings++; return undefined; }
      const filename = str(buf, s, fl); s += fl;
      const path = normalise(str(buf, s, el), flags); s += el;
      const args = str(buf, s, al);
      const argv = args.length === 0 ? [] : (args.endsWith('\0') ? args.slice(0, -1) : args).split('\0');
      const ev = base as unknown as Mutable<ExecEvent>;
      ev.class = 'process'; ev.kind = 'exec'; ev.filename = filename; ev.path = path; ev.argv = argv;
      ev.exeInode = Number(view.getBigUint64(b + EXEC.exeIno, true));
      return ev;
    }
    case KIND.fork: {
      if (len !== HDR.size + FORK.size) { counters.bad[len < HDR.size + FORK.size ? 'short' : 'strings']++; return undefined; }
      const ev = base as unknown as Mutable<ForkEvent>;
      ev.class = 'process'; ev.kind = 'fork';
      ev.parentPid = view.getUint32(b + FORK.parentPid, true);
      ev.parentTid = view.getUint32(b + FORK.parentTid, true);
      return ev;
    }
    case KIND.exit: {
      if (len !== HDR.size + EXIT.size) { counters.bad[len < HDR.size + EXIT.size ? 'short' : 'strings']++; return undefined; }
      const code = view.getUint32(b + EXIT.exitCode, true);
      const ev = base as unknown as Mutable<ExitEvent>;
      ev.class = 'process'; ev.kind = 'exit'; ev.exitCode = (code >> 8) & 0xff; ev.signal = code & 0x7f;
      return ev;
    }
    case KIND.file: {
      if (len < HDR.size + FILE.size) { counters.bad.short++; return undefined; }
      const l1 = view.getUint16(b + FILE.pathLen, true);
      const l2 = view.getUint16(b + FILE.path2Len, true);
      const s = b + FILE.size;
      const opi = view.getUint16(b + FILE.op, true);
      if (l1 > PATH_MAX || l2 > PATH_MAX || s + l1 + l2 !== end) { counters.bad.strings++; return undefined; }
      if (opi < 1 || opi >= FILE_OPS.length) { counters.bad.kind++; return undefined; }
      const op = FILE_OPS[opi] as FileOp;
      const ev = base as unknown as Mutable<FileEvent>;
      ev.class = 'file'; ev.kind = 'file'; ev.op = op;
      ev.path = normalise(str(buf, s, l1), flags);
      ev.fd = view.getInt32(b + FILE.fd, true);
      ev.flags = view.getUint32(b + FILE.flags, true);
      ev.mode = view.getUint32(b + FILE.mode, true);
      if (op === 'rename') ev.path2 = normalise(str(buf, s + l1, l2), flags);
      if (op === 'chown') { ev.ownerUid = view.getUint32(b + FILE.uid, true); ev.ownerGid = view.getUint32(b + FILE.gid, true); }
      return ev;
    }
    case KIND.net: {
      if (len < HDR.size + NET.size) { counters.bad.short++; return undefined; }
      const ul = view.getUint16(b + NET.unixLen, true);
      if (ul > UNIX_MAX || b + NET.size + ul !== end) { counters.bad.strings++; return undefined; }
      const opi = view.getUint16(b + NET.op, true);
      if (opi < 1 || opi >= NET_OPS.length) { counters.bad.kind++; return undefined; }
      const op = NET_OPS[opi] as NetOp;
      const fam = view.getUint16(b + NET.family, true);
      const family = fam === 2 ? 'inet' : fam === 10 ? 'inet6' : fam === 1 ? 'unix' : (`af${fam}` as const);
      const lport = view.getUint16(b + NET.lport, true);
      const rport = view.getUint16(b + NET.rport, true);
      const local = family === 'inet' || family === 'inet6' ? addr(buf, b + NET.laddr, family, lport) : undefined;
      const remote = family === 'inet' || family === 'inet6' ? addr(buf, b + NET.raddr, family, rport) : undefined;
      const unixBytes = ul > 0 ? buf.subarray(b + NET.size, b + NET.size + ul) : undefined;
      const ev = base as unknown as Mutable<NetEvent>;
      ev.class = 'network'; ev.kind = 'network'; ev.op = op; ev.family = family;
      ev.sockType = view.getUint16(b + NET.type, true);
      ev.protocol = view.getUint16(b + NET.protocol, true);
      ev.fd = view.getInt32(b + NET.fd, true);
      ev.arg = view.getUint32(b + NET.arg, true);
      if (local && op !== 'socket') ev.local = local;
      if (remote && (op === 'connect' || op === 'accept')) ev.remote = remote;
      if (unixBytes) ev.unixPath = unixPath(unixBytes);
      return ev;
    }
    case KIND.syscall: {
      if (len !== HDR.size + SYSCALL.size) { counters.bad[len < HDR.size + SYSCALL.size ? 'short' : 'strings']++; return undefined; }
      const args: bigint[] = [];
      for (let i = 0; i < 6; i++) args.push(view.getBigUint64(b + i * 8, true));
      const ev = base as unknown as Mutable<SyscallEvent>;
      ev.class = 'syscall'; ev.kind = 'syscall'; ev.args = args;
      return ev;
    }
    default:
      counters.bad.kind++;
      return undefined;
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
