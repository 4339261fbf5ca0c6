// Reads one spool segment at recovery and classifies what it finds.
//
// A record is good iff its length fits the file, its CRC matches and its payload
// parses with an LSN above the previous one. At a bad record the reader looks for
// the next good record after it (CRC-32 makes a false match negligible):
//   - one is found: the bytes in between are a corrupt record in the middle; they
//     are skipped, counted and reported with file and offset, and reading goes on.
//     When they are all zeros they are an unwritten gap instead ('unwritten'): records
//     are written to the page cache and synced later (spool.ts), and a power loss can
//     leave later pages on disk and earlier ones not; neither was acked (acks wait
//     for the sync, in LSN order);
//   - none is found: the rest of the file is a torn tail (a write cut short by a
//     crash); the caller truncates the file at that offset.
// The whole file is read into memory once (segments are bounded by spool.segmentBytes).
import { readFile } from 'node:fs/promises';
import {
  checkSegmentHeader, decodePayload, MAX_PAYLOAD_BYTES, payloadCrc, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, type SpoolRecord,
} from './format.js';

export type SegmentProblem = { readonly file: string; readonly offset: number; readonly bytes: number; readonly kind: 'corrupt' | 'unwritten' | 'torn_tail' | 'bad_header'; readonly detail: string };

export type SegmentScan = {
  readonly records: SpoolRecord[];
  readonly problems: SegmentProblem[];
  /** Length of the valid prefix when the file ends in a torn tail; undefined otherwise. */
  readonly truncateAt: number | undefined;
  readonly bytes: number;
};

type Probe = { ok: true; rec: SpoolRecord; end: number } | { ok: false; detail: string };

function probe(b: Buffer, off: number, minLsn: bigint): Probe {
  if (off + RECORD_HEADER_BYTES > b.length) return { ok: false, detail: `${b.length - off} bytes left, a record header needs ${RECORD_HEADER_BYTES}` };
  const len = b.readUInt32LE(off);
  if (len === 0 || len > MAX_PAYLOAD_BYTES) return { ok: false, detail: `implausible length ${len}` };
  const end = off + RECORD_HEADER_BYTES + len;
  if (end > b.length) return { ok: false, detail: `length ${len} runs past the end of the file (${b.length - off - RECORD_HEADER_BYTES} bytes left)` };
  const payload = b.subarray(off + RECORD_HEADER_BYTES, end);
  if (payloadCrc(payload) !== b.readUInt32LE(off + 4)) return { ok: false, detail: 'CRC mismatch' };
  const rec = decodePayload(payload);
  if (!rec) return { ok: false, detail: 'payload does not parse' };
  if (rec.type === 1 && rec.lsn <= minLsn) return { ok: false, detail: `lsn ${rec.lsn} not above ${minLsn}` };
  return { ok: true, rec, end };
}

/** `minLsn`: the highest LSN of the segments before this one (records must be above it). */
export async function scanSegment(file: string, minLsn: bigint): Promise<SegmentScan> {
  const b = await readFile(file);
  const problems: SegmentProblem[] = [];
  const bad = checkSegmentHeader(b);
  if (bad) return { records: [], problems: [{ file, offset: 0, bytes: b.length, kind: 'bad_header', detail: bad }], truncateAt: undefined, bytes: b.length };
  const records: SpoolRecord[] = [];
  let last = minLsn;
  let off = SEGMENT_HEADER_BYTES;
  while (off < b.length) {
    const p = probe(b, off, last);
    if (p.ok) {
      records.push(p.rec);
      if (p.rec.type === 1) last = p.rec.lsn;
      off = p.end;
      continue;
    }
    let next = -1;
    for (let o = off + 1; o + RECORD_HEADER_BYTES < b.length; o++) {
      if (probe(b, o, last).ok) {
        next = o;
        break;
      }
    }
    if (next < 0) {
      problems.push({ file, offset: off, bytes: b.length - off, kind: 'torn_tail', detail: p.detail });
      return { records, problems, truncateAt: off, bytes: b.length };
    }
    const zeros = b.subarray(off, next).every((x) => x === 0);
    problems.push(zeros
      ? { file, offset: off, bytes: next - off, kind: 'unwritten', detail: 'all zeros: written pages that a host crash lost while later ones reached the disk (never acked)' }
      : { file, offset: off, bytes: next - off, kind: 'corrupt', detail: p.detail });
    off = next;
  }
  return { records, problems, truncateAt: undefined, bytes: b.length };
}
