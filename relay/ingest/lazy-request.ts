// IngestRequest decoding for the ingest server that leaves event bodies encoded until
// they are used.
//
// Why: with the spool a stream has up to 8 batches in flight (relay/ingest), each held
// across the spool's fdatasync. Fully decoded, 50 streams x 8 batches x 200 alerts are
// ~80,000 Alert objects (tens of objects and strings each) that survive young GCs:
// at saturation the relay spent 160 ms/s in GC and its RSS passed 440 MiB. Here an
// entry keeps its seq and a view of its body bytes; `event` decodes on first access
// (after the spool write) and keeps the result.
//
// Equivalence with IngestRequest.decode (test/unit/relay/lazy-request.test.ts): the same
// fields, the same "last one wins" for scalars and oneofs, unknown fields skipped. Every
// field of the request, batch and entries is read, and every body is walked field by
// field (nested Podowner / ExecEvent too) with the same reader; whatever that walk
// refuses is decoded by the generated decoder instead, so an input is refused here
// exactly when IngestRequest.decode refuses it. (A body the walk accepts could still
// fail to decode only on a varint the walk skips but an int32 read refuses; ingest then
// counts it malformed and fails the stream with INTERNAL, as for any undecodable request.)
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { Alert, Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Batch, type Entry } from '../../proto/gen/palisade/v1/ingest.js';

type Body = NonNullable<Entry['event']>;

/** Fields of feeder.Alert / feeder.Log that hold nested messages (Owner, ExecEvent). */
const NESTED: Readonly<Record<Body['$case'], ReadonlySet<number>>> = {
  alert: new Set([31, 36]),
  log: new Set([24, 27]),
  message: new Set(),
};
const NONE: ReadonlySet<number> = new Set();
/**
 * The generated decoders stop a message at an END_GROUP tag and go on reading the rest
 * of its bytes as the parent's fields; rather than copy that, such input is handed to
 * the generated decoder (see decodeIngestRequestLazy).
 */
const END_GROUP = new Error('END_GROUP tag');
const HELLO = new Error('hello');
const CASE_OF_FIELD: Readonly<Record<number, Body['$case']>> = { 2: 'alert', 3: 'log', 4: 'message' };

/** Walks a message's fields without building it; throws where decoding would. */
function check(bytes: Uint8Array, nested: ReadonlySet<number>): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt === WireType.EndGroup) throw END_GROUP;
    if (wt === WireType.LengthDelimited && nested.has(no)) check(r.bytes(), NONE);
    else r.skip(wt, no);
  }
}

function decodeBody(c: Body['$case'], bytes: Uint8Array): Body {
  switch (c) {
    case 'alert': return { $case: 'alert', value: Alert.decode(bytes) };
    case 'log': return { $case: 'log', value: Log.decode(bytes) };
    case 'message': return { $case: 'message', value: Message.decode(bytes) };
  }
}

/** An Entry whose body is decoded on first access of `event`. */
export class LazyEntry implements Entry {
  private body: Body | undefined;
  private pending: Uint8Array | undefined;
  constructor(public seq: bigint, private readonly kind: Body['$case'] | undefined, bytes: Uint8Array | undefined) {
    this.pending = bytes;
  }
  /** Whether the entry has a body, without decoding it. */
  get hasEvent(): boolean {
    return this.pending !== undefined ? this.kind !== undefined : this.body !== undefined;
  }
  get event(): Body | undefined {
    if (this.pending !== undefined && this.kind !== undefined) {
      this.body = decodeBody(this.kind, this.pending);
      this.pending = undefined;
    }
    return this.body;
  }
  set event(v: Body | undefined) {
    this.body = v;
    this.pending = undefined;
  }
}

function readEntry(bytes: Uint8Array): LazyEntry {
  const r = new BinaryReader(bytes);
  let seq = 0n;
  let kind: Body['$case'] | undefined;
  let body: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt === WireType.EndGroup) throw END_GROUP;
    const c = CASE_OF_FIELD[no];
    if (no === 1 && wt === WireType.Varint) seq = BigInt(r.uint64());
    else if (c !== undefined && wt === WireType.LengthDelimited) {
      body = r.bytes();
      check(body, NESTED[c]);
      kind = c;
    } else r.skip(wt, no);
  }
  return new LazyEntry(seq, kind, body);
}

function readBatch(bytes: Uint8Array): Batch {
  const r = new BinaryReader(bytes);
  const b: Batch = { nodeId: '', bootId: '', firstSeq: 0n, lastSeq: 0n, entries: [] };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt === WireType.EndGroup) throw END_GROUP;
    if (no === 1 && wt === WireType.LengthDelimited) b.nodeId = r.string();
    else if (no === 2 && wt === WireType.LengthDelimited) b.bootId = r.string();
    else if (no === 3 && wt === WireType.Varint) b.firstSeq = BigInt(r.uint64());
    else if (no === 4 && wt === WireType.Varint) b.lastSeq = BigInt(r.uint64());
    else if (no === 5 && wt === WireType.LengthDelimited) b.entries.push(readEntry(r.bytes()));
    else r.skip(wt, no);
  }
  return b;
}

/** Whether an entry has a body, without decoding a lazy one. */
export const hasEvent = (e: Entry): boolean => (e instanceof LazyEntry ? e.hasEvent : e.event !== undefined);

/**
 * IngestRequest from bytes, batch entries lazy (see the header). Input the lazy reader
 * refuses goes to the generated decoder, which decides (and throws on bad input): the
 * accepted inputs and their values are exactly IngestRequest.decode's.
 */
export function decodeIngestRequestLazy(bytes: Uint8Array): IngestRequest {
  try {
    return readRequest(bytes);
  } catch {
    return IngestRequest.decode(bytes);
  }
}

function readRequest(bytes: Uint8Array): IngestRequest {
  const r = new BinaryReader(bytes);
  let kind: IngestRequest['kind'];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt === WireType.EndGroup) throw END_GROUP;
    if (no === 1 && wt === WireType.LengthDelimited) throw HELLO; // rare: the generated decoder reads it
    else if (no === 2 && wt === WireType.LengthDelimited) kind = { $case: 'batch', value: readBatch(r.bytes()) };
    else r.skip(wt, no);
  }
  return { kind };
}
