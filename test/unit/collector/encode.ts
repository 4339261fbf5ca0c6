// Test-only encoder of kernel records (the inverse of collector/decode.ts), from the
// offsets in collector/layout.ts, which layout.test.ts checks against the C header.
import { ABI_VERSION, EXEC, FILE, HDR, KIND, NET } from '../../../collector/layout.js';

export type HdrFields = { pid?: number; ret?: number; comm?: string; cgroupId?: bigint; flags?: number };

function header(buf: Buffer, kind: number, size: number, f: HdrFields): void {
  buf.writeUInt16LE(kind, HDR.kind);
  buf.writeUInt16LE(size, HDR.recSize);
  buf.writeUInt16LE(ABI_VERSION, HDR.abi);
  buf.writeUInt16LE(f.flags ?? 0, HDR.flags);
  buf.writeBigUInt64LE(123456789n, HDR.tsNs);
  buf.writeBigUInt64LE(f.cgroupId ?? 1n, HDR.cgroupId);
  buf.writeUInt32LE(f.pid ?? 42, HDR.pid);
  buf.writeUInt32LE(f.pid ?? 42, HDR.tid);
  buf.writeUInt32LE(1, HDR.ppid);
  buf.writeInt32LE(f.ret ?? 0, HDR.ret);
  buf.writeUInt32LE(257, HDR.syscall);
  buf.write(f.comm ?? 'test', HDR.comm, 15, 'latin1');
}

export function fileRecord(path: string, f: HdrFields = {}, op = 1): Buffer {
  const p = Buffer.from(path);
  const size = HDR.size + FILE.size + p.length;
  const buf = Buffer.alloc(size);
  header(buf, KIND.file, size, f);
  const b = HDR.size;
  buf.writeUInt16LE(op, b + FILE.op);
  buf.writeUInt16LE(p.length, b + FILE.pathLen);
  buf.writeInt32LE(-100, b + FILE.fd);
  buf.writeUInt32LE(0o2000000, b + FILE.flags);
  p.copy(buf, b + FILE.size);
  return buf;
}

export function execRecord(filename: string, exe: string, argv: string[], f: HdrFields = {}): Buffer {
  const fn = Buffer.from(filename), ex = Buffer.from(exe), args = Buffer.from(argv.join('\0') + '\0');
  const size = HDR.size + EXEC.size + fn.length + ex.length + args.length;
  const buf = Buffer.alloc(size);
  header(buf, KIND.exec, size, f);
  const b = HDR.size;
  buf.writeUInt16LE(fn.length, b + EXEC.filenameLen);
  buf.writeUInt16LE(ex.length, b + EXEC.exeLen);
  buf.writeUInt16LE(args.length, b + EXEC.argsLen);
  buf.writeUInt16LE(argv.length, b + EXEC.argc);
  fn.copy(buf, b + EXEC.size);
  ex.copy(buf, b + EXEC.size + fn.length);
  args.copy(buf, b + EXEC.size + fn.length + ex.length);
  return buf;
}

export function connectRecord(addr: [number, number, number, number], port: number, f: HdrFields = {}): Buffer {
  const size = HDR.size + NET.size;
  const buf = Buffer.alloc(size);
  header(buf, KIND.net, size, f);
  const b = HDR.size;
  buf.writeUInt16LE(2, b + NET.op);
  buf.writeUInt16LE(2, b + NET.family);
  buf.writeUInt16LE(1, b + NET.type);
  buf.writeUInt16LE(port, b + NET.rport);
  Buffer.from(addr).copy(buf, b + NET.raddr);
  return buf;
}

/** frames records as the native addon does: [u32 len | hint bits][record]; `hints[i]` is
 * or-ed into frame i's length word */
export function batch(records: Buffer[], hints: readonly number[] = []): Buffer {
  return Buffer.concat(records.flatMap((r, i) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE((r.length | (hints[i] ?? 0)) >>> 0);
    return [len, r];
  }));
}

/** lays records out as the kernel ring does (ring delivery): [u32 len | busy bit 31 | discard
 * bit 30][u32 pg_off][record][pad to 8 bytes]; `bits[i]` is or-ed into record i's length word */
export function ringBatch(records: Buffer[], bits: readonly number[] = []): Buffer {
  return Buffer.concat(records.flatMap((r, i) => {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE((r.length | (bits[i] ?? 0)) >>> 0);
    hdr.writeUInt32LE(i, 4);
    return [hdr, r, Buffer.alloc(((r.length + 7) & ~7) - r.length)];
  }));
}

/** lays records out as one kernel batch does (the payload of one ring record): each record at an
 * 8-byte aligned offset, padded with `padByte`; the last one is padded too unless `cutLast` */
export function kernelBatch(records: Buffer[], cutLast = false, padByte = 0xee): Buffer {
  return Buffer.concat(records.flatMap((r, i) => {
    const pad = i === records.length - 1 && cutLast ? 0 : ((r.length + 7) & ~7) - r.length;
    return [r, Buffer.alloc(pad, padByte)];
  }));
}
