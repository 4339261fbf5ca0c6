// Reads what ingest needs of an IngestRequest{batch} before its events are decoded:
// node id, boot id, first/last seq, and per entry its seq and whether it carries an
// event. The event bodies are skipped by their lengths, not walked.
//
// Why: ingest admits a batch, writes its bytes to the spool and waits for the
// durable write before the events are decoded and handed to the hub (ingest-server.ts).
// Decoded on arrival, the batches waiting in a saturated relay were ~40-80k Alert
// objects (tens of objects and strings each) that outlived the young generation:
// GC ran at ~170 ms/s and the RSS passed 440 MiB. Scanned, a waiting batch is its
// bytes plus one typed array of seqs.
//
// Equivalence with IngestRequest.decode: the scan handles the ordinary encoding (each
// field with its declared wire type; unknown fields skipped; later scalars win).
// Anything else (a known field with another wire type, a group tag, field 0, a
// repeated `batch`, bytes the scan refuses) goes to the generated decoder at once, so
// a request the decoder accepts is never refused here and one whose envelope it
// refuses is refused here. What the scan cannot see is a corrupt event body:
// decodeScanned() decodes the whole request later and throws on it, and also unless
// the decoded header and entry seqs equal what the scan read, so the events handed
// on are always the ones that were admitted and spooled.
import { IngestRequest, type Batch, type Hello } from '../../proto/gen/palisade/v1/ingest.js';
import { Alert, Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import { identityBits, type AlertWire, type EventBody } from '../event.js';
import { InterningReader, StringCache } from './interning-reader.js';
import { readWireAlert } from './wire-alert.js';

/** Strings of recent alerts, shared by every decode of this process (interning-reader.ts). */
const strings = new StringCache();

export type ScannedBatch = {
  readonly nodeId: string;
  readonly bootId: string;
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  /** Entry seqs in wire order. */
  readonly seqs: BigUint64Array;
  /** 1 where the entry carries an event (alert, log or message). */
  readonly hasEvent: Uint8Array;
  /**
   * Per entry, the [start, end) in `raw` of its event's bytes (2 numbers per entry), when
   * the entry has exactly one event field (eventKinds); the bytes of an alert are what the
   * hub forwards (RelayEvent.wire).
   */
  readonly eventSpans?: Uint32Array;
  /** Per entry, its one event field (ENTRY_ALERT, ENTRY_LOG, ENTRY_MESSAGE), or 0: none, or more than one. */
  readonly eventKinds?: Uint8Array;
  /** The IngestRequest bytes as received (what the spool keeps). */
  readonly raw: Buffer;
  /** Set when the scan fell back to the generated decoder. */
  readonly decoded?: Batch;
};

export type ScannedRequest =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'batch'; readonly batch: ScannedBatch }
  | { readonly kind: 'empty' };

/** The scan met an encoding it does not follow; the generated decoder takes over. */
const FALLBACK = new Error('batch-scan: fallback');
const TRUNCATED = 'truncated protobuf message';
// (errors the scan throws never leave it: scanIngestRequest hands such bytes to the decoder)

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** Eight bytes for one uint64 read (the scan is synchronous: never shared across awaits). */
const U64_SCRATCH = new DataView(new ArrayBuffer(8));

class Cursor {
  pos: number;
  constructor(readonly b: Buffer, start: number, public end: number) {
    this.pos = start;
  }
  /** A varint of at most 32 significant bits (tags, lengths). */
  u32(): number {
    if (this.pos >= this.end) throw new RangeError(TRUNCATED);
    const first = this.b[this.pos++] as number;
    if (first < 0x80) return first; // most tags and lengths: one byte
    let v = first & 0x7f;
    let scale = 128; // a multiplier, not 2 ** shift (a call per byte) nor << (32-bit)
    for (let i = 1; i < 5; i++) {
      if (this.pos >= this.end) throw new RangeError(TRUNCATED);
      const byte = this.b[this.pos++] as number;
      v += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) {
        if (v > 0xffffffff) throw FALLBACK;
        return v;
      }
    }
    throw FALLBACK;
  }
  /** A uint64 varint, written into `out[i]` (no BigInt on the way). */
  u64Into(view: DataView, byteOffset: number): void {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError(TRUNCATED);
      const byte = this.b[this.pos++] as number;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        view.setUint32(byteOffset, lo >>> 0, true);
        view.setUint32(byteOffset + 4, hi >>> 0, true);
        return;
      }
    }
    throw new RangeError('varint longer than 10 bytes');
  }
  u64(): bigint {
    this.u64Into(U64_SCRATCH, 0);
    return U64_SCRATCH.getBigUint64(0, true);
  }
  /** Start of a length-delimited field's bytes; the cursor moves past them. */
  len(): [number, number] {
    const n = this.u32();
    const start = this.pos;
    if (n > this.end - start) throw new RangeError(TRUNCATED);
    this.pos = start + n;
    return [start, start + n];
  }
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        for (let i = 0; ; i++) {
          if (this.pos >= this.end) throw new RangeError(TRUNCATED);
          if (i >= 10) throw new RangeError('varint longer than 10 bytes');
          if ((this.b[this.pos++] as number) < 0x80) return;
        }
      case FIXED64: this.advance(8); return;
      case LEN: this.len(); return;
      case FIXED32: this.advance(4); return;
      default: throw FALLBACK; // groups (3, 4) and invalid wire types: the decoder decides
    }
  }
  private advance(n: number): void {
    if (n > this.end - this.pos) throw new RangeError(TRUNCATED);
    this.pos += n;
  }
}

/** Reads one field tag; field 0 and group tags fall back. */
function tag(c: Cursor): [number, number] {
  const t = c.u32();
  const no = t >>> 3;
  const wt = t & 7;
  if (no === 0 || wt === 3 || wt === 4) throw FALLBACK;
  return [no, wt];
}

function scanBatch(raw: Buffer, start: number, end: number): ScannedBatch {
  let nodeId = '';
  let bootId = '';
  let firstSeq = 0n;
  let lastSeq = 0n;
  // first pass: the entries' positions (counted, so the seq array is allocated once)
  const c = new Cursor(raw, start, end);
  let entries = 0;
  while (c.pos < end) {
    const [no, wt] = tag(c);
    if (no >= 1 && no <= 5 && wt !== (no === 3 || no === 4 ? VARINT : LEN)) throw FALLBACK;
    if (no === 1) { const [s, e] = c.len(); nodeId = raw.toString('utf8', s, e); }
    else if (no === 2) { const [s, e] = c.len(); bootId = raw.toString('utf8', s, e); }
    else if (no === 3) firstSeq = c.u64();
    else if (no === 4) lastSeq = c.u64();
    else if (no === 5) { c.len(); entries++; }
    else c.skip(wt);
  }
  const seqs = new BigUint64Array(entries);
  const view = new DataView(seqs.buffer);
  const hasEvent = new Uint8Array(entries);
  const eventSpans = new Uint32Array(entries * 2);
  const eventKinds = new Uint8Array(entries);
  const r = new Cursor(raw, start, end);
  for (let i = 0; r.pos < end;) {
    const [no, wt] = tag(r);
    if (no !== 5) { r.skip(wt); continue; }
    const [s, e] = r.len();
    r.pos = s; // walk the entry's fields with the same cursor, then continue after it
    r.end = e;
    while (r.pos < e) {
      const [f, w] = tag(r);
      if (f === 1) {
        if (w !== VARINT) throw FALLBACK;
        r.u64Into(view, i * 8);
      } else if (f >= 2 && f <= 4) {
        if (w !== LEN) throw FALLBACK;
        const [as, ae] = r.len();
        // the first event field of the entry; a second one makes it ambiguous (0): the decoder decides
        eventKinds[i] = hasEvent[i] === 0 ? f : 0;
        eventSpans[i * 2] = as;
        eventSpans[i * 2 + 1] = ae;
        hasEvent[i] = 1;
      } else r.skip(w);
    }
    r.end = end;
    i++;
  }
  return { nodeId, bootId, firstSeq, lastSeq, seqs, hasEvent, eventSpans, eventKinds, raw };
}

function fromDecoded(req: IngestRequest, raw: Buffer): ScannedRequest {
  const k = req.kind;
  if (k?.$case === 'hello') return { kind: 'hello', hello: k.value };
  if (k?.$case !== 'batch') return { kind: 'empty' };
  const b = k.value;
  const seqs = new BigUint64Array(b.entries.length);
  const hasEvent = new Uint8Array(b.entries.length);
  b.entries.forEach((e, i) => {
    seqs[i] = BigInt.asUintN(64, e.seq);
    hasEvent[i] = e.event === undefined ? 0 : 1;
  });
  return { kind: 'batch', batch: { nodeId: b.nodeId, bootId: b.bootId, firstSeq: b.firstSeq, lastSeq: b.lastSeq, seqs, hasEvent, raw, decoded: b } };
}

/** Scans a request; throws when IngestRequest.decode throws on its envelope (not on an event body). */
export function scanIngestRequest(raw: Buffer): ScannedRequest {
  try {
    const c = new Cursor(raw, 0, raw.length);
    let last: 'none' | 'hello' | 'batch' = 'none';
    let batchAt: [number, number] | undefined;
    while (c.pos < raw.length) {
      const [no, wt] = tag(c);
      if (no === 1 || no === 2) {
        if (wt !== LEN) throw FALLBACK;
        const at = c.len();
        if (no === 2) {
          if (batchAt) throw FALLBACK; // a repeated message field: leave its meaning to the decoder
          batchAt = at;
        }
        last = no === 1 ? 'hello' : 'batch';
      } else c.skip(wt);
    }
    if (last === 'hello') return fromDecoded(IngestRequest.decode(raw), raw);
    if (last === 'none' || !batchAt) return { kind: 'empty' };
    return { kind: 'batch', batch: scanBatch(raw, batchAt[0], batchAt[1]) };
  } catch {
    // an encoding the scan does not follow, or bytes it refuses: the generated decoder
    // decides (so accept/refuse is always IngestRequest.decode's; it throws on bad bytes)
    return fromDecoded(IngestRequest.decode(raw), raw);
  }
}

/**
 * The batch's decoded entries, and whether every string decoded is its bytes exactly
 * (false after invalid UTF-8, or when the scan fell back to the decoder): only then
 * may the batch's alert bytes be forwarded as they are (eventSpans, alertWireAt).
 * Throws when the bytes do not decode, or decode to another header or other entry
 * seqs than the scan read.
 */
export function decodeScanned(s: ScannedBatch): { batch: Batch; exactStrings: boolean } {
  if (s.decoded) return { batch: s.decoded, exactStrings: false };
  const reader = new InterningReader(s.raw, strings);
  const req = IngestRequest.decode(reader);
  const b = req.kind?.$case === 'batch' ? req.kind.value : undefined;
  if (!b) throw new Error('batch: the request no longer decodes as a batch');
  if (b.nodeId !== s.nodeId || b.bootId !== s.bootId || b.firstSeq !== s.firstSeq || b.lastSeq !== s.lastSeq || b.entries.length !== s.seqs.length) {
    throw new Error('batch: decoded header differs from the scanned one');
  }
  for (let i = 0; i < b.entries.length; i++) {
    const e = b.entries[i] as Batch['entries'][number];
    if (e.seq !== s.seqs[i] || (e.event === undefined) !== (s.hasEvent[i] === 0)) throw new Error(`batch.entries[${i}]: decoded seq or event differs from the scanned one`);
  }
  return { batch: b, exactStrings: reader.exactStrings };
}

export const ENTRY_ALERT = 2;
export const ENTRY_LOG = 3;
export const ENTRY_MESSAGE = 4;

/** One entry's event, decoded on its own; `exact`: its strings are its bytes exactly (an alert's bytes may be forwarded). */
export type EntryEvent = { readonly body: EventBody; readonly exact: boolean };

/**
 * The batch's events entry by entry, when every entry has exactly one event field: an
 * alert read in place (wire-alert.ts) when WireAlert accepts its bytes, else decoded by
 * the generated decoder through the string cache, as are logs and messages. Undefined
 * when an entry has no event or more than one (or the scan fell back): the caller decodes
 * the whole request (decodeScanned). The events equal IngestRequest.decode's (the scan
 * read the envelope and the seqs, and an entry's one event field is what the decoder
 * keeps); a corrupt event throws, as IngestRequest.decode would.
 */
export function readScannedEntries(s: ScannedBatch): EntryEvent[] | undefined {
  const spans = s.eventSpans;
  const kinds = s.eventKinds;
  if (s.decoded !== undefined || spans === undefined || kinds === undefined) return undefined;
  for (let i = 0; i < kinds.length; i++) if (kinds[i] === 0) return undefined;
  const out: EntryEvent[] = [];
  for (let i = 0; i < kinds.length; i++) {
    const start = spans[i * 2] as number;
    const end = spans[i * 2 + 1] as number;
    const kind = kinds[i];
    if (kind === ENTRY_ALERT) {
      const inPlace = readWireAlert(s.raw, start, end, strings);
      if (inPlace !== undefined) {
        out.push({ body: { $case: 'alert', value: inPlace }, exact: true });
        continue;
      }
    }
    const r = new InterningReader(s.raw.subarray(start, end), strings);
    const body: EventBody = kind === ENTRY_ALERT ? { $case: 'alert', value: Alert.decode(r) }
      : kind === ENTRY_LOG ? { $case: 'log', value: Log.decode(r) } : { $case: 'message', value: Message.decode(r) };
    out.push({ body, exact: r.exactStrings });
  }
  return out;
}

/**
 * Entry `i`'s alert bytes as RelayEvent.wire, or undefined when the entry is not exactly
 * one alert. Only for a batch whose strings decoded exactly (decodeScanned), after
 * ingest filled the alert (`filled`: the filler's bits) and before enrichment.
 */
export function alertWireAt(s: ScannedBatch, i: number, filled: number, alert: Alert): AlertWire | undefined {
  const spans = s.eventSpans;
  if (spans === undefined || s.eventKinds?.[i] !== ENTRY_ALERT) return undefined;
  return { raw: s.raw, start: spans[i * 2] as number, end: spans[i * 2 + 1] as number, filled, identity: identityBits(alert) };
}
