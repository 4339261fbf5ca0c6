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

/**
 * The cache slot of a string's bytes: FNV-1a over its length and at most 24 of its bytes
 * (the first, middle and last 8), so a 64-byte container id costs 24 steps, not 64.
 * Strings that share those bytes share a slot; the byte compare keeps that correct.
 */
function slotOf(b: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5 ^ len;
  if (len <= 24) {
    for (let i = at; i < at + len; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  } else {
    const mid = at + ((len - 8) >> 1);
    for (let i = 0; i < 8; i++) {
      h = Math.imul(h ^ (b[at + i] as number), 0x01000193);
      h = Math.imul(h ^ (b[mid + i] as number), 0x01000193);
      h = Math.imul(h ^ (b[at + len - 8 + i] as number), 0x01000193);
    }
  }
  return (h ^ (h >>> 15)) & (SLOTS - 1);
}

export class StringCache {
  readonly bytes = new Uint8Array(SLOTS * MAX_CACHED_BYTES);
  readonly lengths = new Int16Array(SLOTS).fill(-1);
  readonly strings: string[] = new Array<string>(SLOTS).fill('');
  hits = 0;
  misses = 0;
}

/** Whether a decoded string is its bytes exactly (invalid UTF-8 decodes to U+FFFD). */
function exact(s: string, byteLength: number): boolean {
  return Buffer.byteLength(s, 'utf8') === byteLength && !s.includes('\uFFFD');
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
    const slot = slotOf(b, at, len);
    const c = this.cache;
    const base = slot * MAX_CACHED_BYTES;
    if (c.lengths[slot] === len) {
      // every byte, from the end: values that do not repeat (counters, times) differ there
      const cb = c.bytes;
      let i = len - 1;
      while (i >= 0 && cb[base + i] === b[at + i]) i--;
      const same = i < 0;
      if (same) {
        c.hits++;
        this.pos = at + len;
        return c.strings[slot] as string;
      }
    }
    c.misses++;
    this.pos = start;
    const s = super.string(strict);
    if (!exact(s, len)) {
      this.exactStrings = false;
      return s;
    }
    c.bytes.set(b.subarray(at, at + len), base);
    c.lengths[slot] = len;
    c.strings[slot] = s;
    return s;
  }
}
