// On-disk format of the relay spool (a write-ahead log of ingested batches).
//
// A spool directory holds segment files named by the LSN of their first record,
// zero-padded so that name order is log order: `00000000000000000001.seg`.
// Segment = 16-byte header, then records back to back:
//
//   header  "PLSPOOL\0" (8 bytes) | u32 LE format version (1) | u32 LE 0
//   record  u32 LE payload length | u32 LE CRC-32 (zlib) of the payload | payload
//   payload u8 type, then by type (integers little-endian, strings u16 length + UTF-8):
//     1 batch  u64 lsn | u64 receivedAtMs | u64 firstSeq | u64 lastSeq
//              | str nodeId | str bootId | str hostName | str clusterName
//              | the IngestRequest{batch} bytes exactly as received (rest of payload)
//     2 mark   u64 lsn (every record <= lsn had reached the hub) | u64 hub head | str hub epoch
//
// Invariants: records are only appended; a record is valid iff its length fits the
// file, its CRC matches and its payload parses. LSNs increase strictly through the
// log (across segments). hostName/clusterName/receivedAtMs are what ingest filled into
// events that left them empty, so replay rebuilds the same events.
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('PLSPOOL\0', 'latin1');
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
/** Largest payload accepted when reading (ingest messages are far smaller). */
export const MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;

export const TYPE_BATCH = 1;
export const TYPE_MARK = 2;

export type BatchRecord = {
  readonly type: typeof TYPE_BATCH;
  readonly lsn: bigint;
  readonly receivedAtMs: number;
  readonly nodeId: string;
  readonly bootId: string;
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly hostName: string;
  readonly clusterName: string;
  /** IngestRequest{batch} bytes as received. */
  readonly raw: Buffer;
};

export type MarkRecord = { readonly type: typeof TYPE_MARK; readonly lsn: bigint; readonly hubHead: number; readonly epoch: string };

export type SpoolRecord = BatchRecord | MarkRecord;

export function segmentName(firstLsn: bigint): string {
  return `${firstLsn.toString().padStart(20, '0')}.seg`;
}

export function parseSegmentName(name: string): bigint | undefined {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? BigInt(m[1] as string) : undefined;
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  return b;
}

export function checkSegmentHeader(b: Buffer): string | undefined {
  if (b.length < SEGMENT_HEADER_BYTES) return `header is ${b.length} bytes, expected ${SEGMENT_HEADER_BYTES}`;
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'bad magic (not a palisade spool segment)';
  const v = b.readUInt32LE(8);
  if (v !== FORMAT_VERSION) return `format version ${v}, this relay reads ${FORMAT_VERSION}`;
  return undefined;
}

const strLen = (s: string): number => 2 + Buffer.byteLength(s, 'utf8');

function putStr(b: Buffer, off: number, s: string): number {
  const n = b.write(s, off + 2, 'utf8');
  b.writeUInt16LE(n, off);
  return off + 2 + n;
}

/** The record's framing and fixed fields; `raw` is written after it as a second buffer (no copy). */
export function encodeBatchHead(r: Omit<BatchRecord, 'type' | 'raw'>): Buffer {
  for (const s of [r.nodeId, r.bootId, r.hostName, r.clusterName]) {
    if (Buffer.byteLength(s, 'utf8') > 0xffff) throw new RangeError('spool: id or name longer than 65535 bytes');
  }
  const fixed = 1 + 8 * 4 + strLen(r.nodeId) + strLen(r.bootId) + strLen(r.hostName) + strLen(r.clusterName);
  const b = Buffer.alloc(RECORD_HEADER_BYTES + fixed);
  let o = RECORD_HEADER_BYTES;
  b.writeUInt8(TYPE_BATCH, o); o += 1;
  b.writeBigUInt64LE(r.lsn, o); o += 8;
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(r.receivedAtMs))), o); o += 8;
  b.writeBigUInt64LE(r.firstSeq, o); o += 8;
  b.writeBigUInt64LE(r.lastSeq, o); o += 8;
  o = putStr(b, o, r.nodeId);
  o = putStr(b, o, r.bootId);
  o = putStr(b, o, r.hostName);
  putStr(b, o, r.clusterName);
  return b;
}

/** Fills length and CRC of a record whose payload is head[8..] followed by `rest`. */
export function sealRecord(head: Buffer, rest?: Buffer): void {
  const payloadLen = head.length - RECORD_HEADER_BYTES + (rest?.length ?? 0);
  let c = crc32(head.subarray(RECORD_HEADER_BYTES));
  if (rest) c = crc32(rest, c);
  head.writeUInt32LE(payloadLen, 0);
  head.writeUInt32LE(c >>> 0, 4);
}

export function encodeMark(m: Omit<MarkRecord, 'type'>): Buffer {
  const b = Buffer.alloc(RECORD_HEADER_BYTES + 1 + 16 + strLen(m.epoch));
  let o = RECORD_HEADER_BYTES;
  b.writeUInt8(TYPE_MARK, o); o += 1;
  b.writeBigUInt64LE(m.lsn, o); o += 8;
  b.writeBigUInt64LE(BigInt(m.hubHead), o); o += 8;
  putStr(b, o, m.epoch);
  sealRecord(b);
  return b;
}

class Reader {
  o = 0;
  constructor(readonly b: Buffer) {}
  need(n: number): void {
    if (this.o + n > this.b.length) throw new RangeError('payload too short');
  }
  u8(): number { this.need(1); return this.b.readUInt8(this.o++); }
  u64(): bigint { this.need(8); const v = this.b.readBigUInt64LE(this.o); this.o += 8; return v; }
  str(): string {
    this.need(2);
    const n = this.b.readUInt16LE(this.o);
    this.need(2 + n);
    const s = this.b.toString('utf8', this.o + 2, this.o + 2 + n);
    this.o += 2 + n;
    return s;
  }
}

/** Parses a payload whose CRC already matched; undefined when it does not parse. */
export function decodePayload(p: Buffer): SpoolRecord | undefined {
  try {
    const r = new Reader(p);
    const type = r.u8();
    if (type === TYPE_BATCH) {
      const lsn = r.u64();
      const receivedAtMs = Number(r.u64());
      const firstSeq = r.u64();
      const lastSeq = r.u64();
      const nodeId = r.str();
      const bootId = r.str();
      const hostName = r.str();
      const clusterName = r.str();
      return { type, lsn, receivedAtMs, firstSeq, lastSeq, nodeId, bootId, hostName, clusterName, raw: p.subarray(r.o) };
    }
    if (type === TYPE_MARK) {
      const lsn = r.u64();
      const hubHead = Number(r.u64());
      const epoch = r.str();
      return { type, lsn, hubHead, epoch };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

export function payloadCrc(p: Buffer): number {
  return crc32(p) >>> 0;
}
