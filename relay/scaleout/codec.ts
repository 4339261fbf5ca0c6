// One RelayEvent <-> one Redis Stream entry. Field layout (all values binary-safe):
//   x  position: 1, 2, 3 ... over the life of the stream (INCRBY in the append
//      script), so a reader sees exactly how many entries it missed when trimming
//      overtook it
//   n  node id    b  boot id    s  seq (decimal)
//   k  a | l | m  (alert, log, message)
//   e  1 | 0      (enriched)    c  count (decimal)
//   p  the feeder message, protobuf-encoded
// decode() never throws: a malformed entry is reported as undefined (and counted
// by the caller).
import { Alert, Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import type { EventBody, RelayEvent } from '../event.js';

export const FIELDS_PER_EVENT = 7;

/** The append script's ARGV group for one event (order n b s k e c p). */
export function encodeArgs(ev: RelayEvent): Array<string | Buffer> {
  const b = ev.body;
  const p = b.$case === 'alert' ? Alert.encode(b.value).finish() : b.$case === 'log' ? Log.encode(b.value).finish() : Message.encode(b.value).finish();
  return [ev.nodeId, ev.bootId, ev.seq.toString(), b.$case[0] as string, ev.enriched ? '1' : '0', String(ev.count), Buffer.from(p.buffer, p.byteOffset, p.byteLength)];
}

export type StreamEntry = { readonly id: string; readonly x: number; readonly ev: RelayEvent };

/** Parses one XRANGE/XREAD entry ([id, [field, value, ...]]) read as Buffers. */
export function decodeEntry(raw: unknown, receivedAt: bigint): StreamEntry | undefined {
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[1])) return undefined;
  const id = String(raw[0]);
  const kv = raw[1] as unknown[];
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < kv.length; i += 2) {
    const v = kv[i + 1];
    f.set(String(kv[i]), Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
  }
  const str = (k: string): string | undefined => f.get(k)?.toString('utf8');
  const x = Number(str('x'));
  const seqText = str('s');
  const p = f.get('p');
  if (!Number.isSafeInteger(x) || seqText === undefined || !/^\d+$/.test(seqText) || !p) return undefined;
  let body: EventBody;
  try {
    switch (str('k')) {
      case 'a': body = { $case: 'alert', value: Alert.decode(p) }; break;
      case 'l': body = { $case: 'log', value: Log.decode(p) }; break;
      case 'm': body = { $case: 'message', value: Message.decode(p) }; break;
      default: return undefined;
    }
  } catch {
    return undefined; // not a feeder message: the caller counts it
  }
  const count = Number(str('c') ?? '1');
  return {
    id, x,
    ev: { nodeId: str('n') ?? '', bootId: str('b') ?? '', seq: BigInt(seqText), body, enriched: str('e') === '1', count: Number.isSafeInteger(count) && count > 0 ? count : 1, receivedAt },
  };
}

/** Stream ids "ms-seq" compared numerically; -1, 0, 1. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

export const isStreamId = (s: string): boolean => /^\d{1,20}-\d{1,20}$/.test(s);
