// A protobuf reader for ingest whose string fields come from a cache of recent
// strings, keyed by their exact bytes.
//
// Why: most string fields of an alert repeat from event to event (host, container id,
// policy, severity, action, process names...). The generated decoders read each one
// into a new string (an array and String.fromCharCode, or TextDecoder beyond 32
// bytes): at 100k events/s that was the largest single cost of ingest and much of the
// garbage. Here a string of at most MAX_CACHED_BYTES bytes is looked up by a hash of
// its bytes; a hit (the stored bytes compare equal) returns the cached string.
//
// Invariant: string() returns exactly what BinaryReader.string() returns for the same
// bytes — a hit only ever returns a string decoded earlier from identical bytes, and a
// miss decodes with the base reader. The cache is bounded (SLOTS entries of at most
// MAX_CACHED_BYTES bytes each) and per instance of the cache, not per reader.
import { BinaryReader } from '@bufbuild/protobuf/wire';

const SLOTS = 4096; // power of two
const MAX_CACHED_BYTES = 96;

// Bytes are read four at a time through DataViews (TurboFan inlines getInt32): a byte
// loop in JavaScript costs about 2 ns per byte on these machines, and ingest reads
// every string byte of every alert at least once.

let viewed: Uint8Array | undefined;
let viewedAs: DataView = new DataView(new ArrayBuffer(0));

/** A DataView of `b` (the last one is kept: ingest reads many fields of one buffer in a row). */
export function viewOf(b: Uint8Array): DataView {
  if (b !== viewed) {
    viewed = b;
    viewedAs = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return viewedAs;
}

/** Whether every byte of v[from, to) is ASCII (< 0x80). */
export function allAscii(v: DataView, from: number, to: number): boolean {
  let acc = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) acc |= v.getInt32(i, true);
  for (; i < to; i++) acc |= v.getUint8(i);
  return (acc & 0x80808080) === 0;
}

/**
 * The cache slot of a string's bytes: FNV-1a over its length and 32-bit words of at most
 * 24 of its bytes (the first, middle and last 8), then mixed. Strings that share those
 * bytes share a slot; the compare in lookup() keeps that correct.
 */
function slotOf(v: DataView, at: number, len: number): number {
  let h = 0x811c9dc5 ^ len;
  if (len < 4) {
    for (let i = at; i < at + len; i++) h = Math.imul(h ^ v.getUint8(i), 0x01000193);
  } else if (len <= 24) {
    for (let i = at; i + 4 <= at + len; i += 4) h = Math.imul(h ^ v.getInt32(i, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(at + len - 4, true), 0x01000193);
  } else {
    const mid = at + ((len - 8) >> 1);
    const last = at + len - 8;
    h = Math.imul(h ^ v.getInt32(at, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(at + 4, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(mid, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(mid + 4, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(last, true), 0x01000193);
    h = Math.imul(h ^ v.getInt32(last + 4, true), 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) & (SLOTS - 1);
}

export class StringCache {
  readonly bytes = new Uint8Array(SLOTS * MAX_CACHED_BYTES);
  readonly view = new DataView(this.bytes.buffer);
  readonly lengths = new Int16Array(SLOTS).fill(-1);
  readonly strings: string[] = new Array<string>(SLOTS).fill('');
  hits = 0;
  misses = 0;
}

/** Whether a decoded string is its bytes exactly (invalid UTF-8 decodes to U+FFFD). */
function exact(s: string, byteLength: number): boolean {
  return Buffer.byteLength(s, 'utf8') === byteLength && !s.includes('\uFFFD');
}

/**
 * The cached string of v[at, at + len) when the cache holds those exact bytes, else
 * undefined. Only for 0 < len <= MAX_CACHED_BYTES.
 */
function lookup(c: StringCache, v: DataView, at: number, len: number, slot: number): string | undefined {
  if (c.lengths[slot] !== len) return undefined;
  // every byte, the last word first: values that do not repeat (counters, times) differ there
  const cv = c.view;
  const base = slot * MAX_CACHED_BYTES;
  let i = len - 4;
  for (; i >= 0; i -= 4) if (cv.getInt32(base + i, true) !== v.getInt32(at + i, true)) return undefined;
  for (let j = 0; j < i + 4; j++) if (cv.getUint8(base + j) !== v.getUint8(at + j)) return undefined;
  return c.strings[slot];
}

function remember(c: StringCache, b: Uint8Array, at: number, len: number, slot: number, s: string): void {
  c.bytes.set(b.subarray(at, at + len), slot * MAX_CACHED_BYTES);
  c.lengths[slot] = len;
  c.strings[slot] = s;
}

/**
 * The string of b[at, at + len) through the cache when its bytes are all ASCII (a hit
 * needs no check: only exact strings are cached), else undefined. Equal to what
 * BinaryReader.string() returns for those bytes.
 */
export function asciiString(c: StringCache, b: Buffer, at: number, len: number): string | undefined {
  if (len === 0) return '';
  const v = viewOf(b);
  if (len > MAX_CACHED_BYTES) return allAscii(v, at, at + len) ? b.toString('latin1', at, at + len) : undefined;
  const slot = slotOf(v, at, len);
  const hit = lookup(c, v, at, len, slot);
  if (hit !== undefined) {
    c.hits++;
    return hit;
  }
  if (!allAscii(v, at, at + len)) return undefined;
  c.misses++;
  const s = b.toString('latin1', at, at + len);
  remember(c, b, at, len, slot, s);
  return s;
}

export class InterningReader extends BinaryReader {
  /**
   * False once a string read was not its bytes exactly (invalid UTF-8, or a literal
   * U+FFFD: the check is conservative). Only such strings are never cached, so a hit is exact.
   */
  exactStrings = true;

  constructor(private readonly data: Uint8Array, private readonly cache: StringCache) {
    super(data);
  }

  override string(strict?: boolean): string {
    const start = this.pos;
    const len = this.uint32();
    const at = this.pos;
    if (len === 0 || len > MAX_CACHED_BYTES || at + len > this.len || strict === true) {
      this.pos = start;
      const s = super.string(strict);
      if (len !== 0 && !exact(s, len)) this.exactStrings = false;
      return s;
    }
    const b = this.data;
    const c = this.cache;
    const v = viewOf(b);
    const slot = slotOf(v, at, len);
    const hit = lookup(c, v, at, len, slot);
    if (hit !== undefined) {
      c.hits++;
      this.pos = at + len;
      return hit;
    }
    c.misses++;
    this.pos = start;
    const s = super.string(strict);
    if (!exact(s, len)) {
      this.exactStrings = false;
      return s;
    }
    remember(c, b, at, len, slot, s);
    return s;
  }
}
