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

export class StringCache {
  readonly bytes = new Uint8Array(SLOTS * MAX_CACHED_BYTES);
  readonly lengths = new Int16Array(SLOTS).fill(-1);
  readonly strings: string[] = new Array<string>(SLOTS).fill('');
  hits = 0;
  misses = 0;
}

export class InterningReader extends BinaryReader {
  constructor(private readonly data: Uint8Array, private readonly cache: StringCache) {
    super(data);
  }

  override string(strict?: boolean): string {
    const start = this.pos;
    const len = this.uint32();
    const at = this.pos;
    if (len === 0 || len > MAX_CACHED_BYTES || at + len > this.len || strict === true) {
      this.pos = start;
      return super.string(strict);
    }
    const b = this.data;
    let h = 0x811c9dc5 ^ len; // FNV-1a over the bytes
    for (let i = at; i < at + len; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
    const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
    const c = this.cache;
    const base = slot * MAX_CACHED_BYTES;
    if (c.lengths[slot] === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (c.bytes[base + i] !== b[at + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        c.hits++;
        this.pos = at + len;
        return c.strings[slot] as string;
      }
    }
    c.misses++;
    this.pos = start;
    const s = super.string(strict);
    c.bytes.set(b.subarray(at, at + len), base);
    c.lengths[slot] = len;
    c.strings[slot] = s;
    return s;
  }
}
