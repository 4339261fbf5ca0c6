// The Redis Stream of enriched events that joins the relay replicas.
//
// append(): every replica appends what its pipeline publishes (after enrich,
//   collapse and throttle), in one Lua call per chunk: each entry gets the next
//   stream position `x` and a stream id; then XTRIM MAXLEN ~ cap, and the number of
//   trimmed entries goes to palisade_relay_scaleout_trimmed_events_total. append()
//   resolves only when Redis holds the entries, so an ingest ack given after it
//   means "in the shared stream".
// reader: one per replica, on its own connection: XREAD BLOCK from the last id it
//   saw (starting at the stream's tail when it starts), hands each page to the local
//   hub in stream order. Entries trimmed before the reader got to them are counted
//   exactly from the `x` gap (palisade_relay_scaleout_reader_lost_events_total).
//   Redis errors: counted, retried with backoff (100 ms doubling to 5 s), never fatal.
// cursors: the stream id of an entry (idOf) is the client-facing resume cursor;
//   checkCursor() tells "ok (position x)", "trimmed" (older than the oldest
//   retained entry: events after it may be gone, the client must be told) or
//   "unknown" (never issued by this stream).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RelayEvent } from '../event.js';
import type { Counters } from '../metrics/counters.js';
import { compareIds, decodeEntry, encodeArgs, isStreamId, type StreamEntry } from './codec.js';
import type { ScaleOutConfig } from './config.js';
import { createScript } from './script.js';

const APPEND = createScript(`
local n = tonumber(ARGV[2])
local pos = redis.call('INCRBY', KEYS[2], n) - n
local ids = {}
for i = 0, n - 1 do
  local o = 3 + i * 7
  pos = pos + 1
  ids[i + 1] = redis.call('XADD', KEYS[1], '*', 'x', pos, 'n', ARGV[o], 'b', ARGV[o + 1], 's', ARGV[o + 2], 'k', ARGV[o + 3], 'e', ARGV[o + 4], 'c', ARGV[o + 5], 'p', ARGV[o + 6])
end
local trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
return {ids, trimmed}
`);

const CHUNK = 500;

export type CursorCheck = { ok: true; x: number } | { ok: false; reason: 'trimmed' | 'unknown' };

export interface EventStream {
  append(events: readonly RelayEvent[]): Promise<void>;
  /** Stream id of an event that went through append() or the reader; undefined otherwise. */
  idOf(ev: RelayEvent): string | undefined;
  /** Entries strictly after `afterId` ('0-0': from the oldest retained), at most `count`. */
  range(afterId: string, count: number): Promise<StreamEntry[]>;
  checkCursor(cursor: string): Promise<CursorCheck>;
  /** Starts this replica's reader; `deliver` gets each page in stream order. */
  startReader(deliver: (events: RelayEvent[]) => void): void;
  /** Stops the reader (waits for it) — the caller owns and closes `redis`. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** XINFO STREAM as a map (RESP2 flat array), or undefined when the key does not exist. */
async function streamInfo(redis: Redis, key: string): Promise<Map<string, unknown> | undefined> {
  let r: unknown;
  try {
    r = await redis.call('XINFO', 'STREAM', key);
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return undefined;
    throw err;
  }
  const m = new Map<string, unknown>();
  if (Array.isArray(r)) for (let i = 0; i + 1 < r.length; i += 2) m.set(String(r[i]), r[i + 1]);
  return m;
}

export function createEventStream(redis: Redis, cfg: ScaleOutConfig, counters: Counters, log?: Logger): EventStream {
  const ids = new WeakMap<RelayEvent, string>();
  const posKey = `${cfg.streamKey}:pos`;
  let reader: { stop: () => void; done: Promise<void> } | undefined;

  const decodePage = (raw: unknown): StreamEntry[] => {
    const out: StreamEntry[] = [];
    if (!Array.isArray(raw)) return out;
    const now = process.hrtime.bigint();
    let bad = 0;
    for (const r of raw) {
      const e = decodeEntry(r, now);
      if (e) {
        ids.set(e.ev, e.id);
        out.push(e);
      } else bad++;
    }
    if (bad > 0) counters.inc('palisade_relay_scaleout_malformed_entries_total', {}, bad);
    return out;
  };

  async function tailId(): Promise<string> {
    const r = (await redis.call('XREVRANGE', cfg.streamKey, '+', '-', 'COUNT', 1)) as unknown[];
    return Array.isArray(r) && Array.isArray(r[0]) ? String(r[0][0]) : '0-0';
  }

  async function checkCursor(cursor: string): Promise<CursorCheck> {
    if (!isStreamId(cursor)) return { ok: false, reason: 'unknown' };
    const page = decodePage(await redis.callBuffer('XRANGE', cfg.streamKey, cursor, cursor));
    if (page.length === 1) return { ok: true, x: (page[0] as StreamEntry).x };
    // Gone: older than the oldest retained entry (but not newer than anything ever
    // added) means trimming removed it and possibly entries after it. Conservative:
    // a cursor that was exactly the last trimmed entry is also reported trimmed.
    const info = await streamInfo(redis, cfg.streamKey);
    if (!info) return { ok: false, reason: 'unknown' };
    const lastGenerated = String(info.get('last-generated-id') ?? '0-0');
    const first = info.get('first-entry');
    const firstId = Array.isArray(first) ? String(first[0]) : undefined;
    if (compareIds(cursor, lastGenerated) > 0) return { ok: false, reason: 'unknown' };
    const everRemoved = Number(info.get('entries-added') ?? 0) > Number(info.get('length') ?? 0);
    if (everRemoved && (firstId === undefined || compareIds(cursor, firstId) < 0)) return { ok: false, reason: 'trimmed' };
    return { ok: false, reason: 'unknown' };
  }

  return {
    async append(events) {
      for (let i = 0; i < events.length; i += CHUNK) {
        const chunk = events.slice(i, i + CHUNK);
        const args: Array<string | Buffer | number> = [cfg.streamMaxLen, chunk.length];
        for (const ev of chunk) args.push(...encodeArgs(ev));
        const r = (await APPEND.run(redis, [cfg.streamKey, posKey], args)) as [unknown[], number];
        const got = r[0];
        chunk.forEach((ev, j) => ids.set(ev, String(got[j])));
        counters.inc('palisade_relay_scaleout_appended_events_total', {}, chunk.length);
        if (Number(r[1]) > 0) counters.inc('palisade_relay_scaleout_trimmed_events_total', {}, Number(r[1]));
      }
    },
    idOf: (ev) => ids.get(ev),
    async range(afterId, count) {
      const start = afterId === '0-0' ? '-' : `(${afterId}`;
      return decodePage(await redis.callBuffer('XRANGE', cfg.streamKey, start, '+', 'COUNT', count));
    },
    checkCursor,
    startReader(deliver) {
      if (reader) throw new Error('scaleout: reader already started');
      const conn = redis.duplicate();
      let stopped = false;
      const done = (async () => {
        let last = '';
        let lastX = -1; // position of `last`; -1: unknown (no gap accounting until the next entry)
        let backoff = 100;
        while (!stopped) {
          try {
            if (last === '') {
              last = await tailId();
              lastX = last === '0-0' ? 0 : await checkCursor(last).then((c) => (c.ok ? c.x : -1));
            }
            const r = await conn.callBuffer('XREAD', 'COUNT', cfg.readCount, 'BLOCK', cfg.readBlockMs, 'STREAMS', cfg.streamKey, last);
            backoff = 100;
            if (!Array.isArray(r) || r.length === 0) continue;
            // RESP3 (ioredis' default) flattens the reply map to [key, entries]; RESP2 nests it
            const page = decodePage(Array.isArray(r[0]) ? (r[0] as unknown[])[1] : r[1]);
            if (page.length === 0) continue;
            for (const e of page) {
              if (lastX >= 0 && e.x > lastX + 1) counters.inc('palisade_relay_scaleout_reader_lost_events_total', {}, e.x - lastX - 1);
              lastX = e.x;
            }
            last = (page[page.length - 1] as StreamEntry).id;
            counters.inc('palisade_relay_scaleout_read_events_total', {}, page.length);
            deliver(page.map((e) => e.ev));
          } catch (err) {
            if (stopped) break;
            counters.inc('palisade_relay_scaleout_errors_total', { op: 'read' });
            log?.warn({ err: (err as Error).message, backoffMs: backoff }, 'scaleout reader: Redis error, retrying');
            await sleep(backoff);
            backoff = Math.min(backoff * 2, 5_000);
          }
        }
      })();
      reader = {
        stop: () => {
          stopped = true;
          conn.disconnect();
        },
        done,
      };
    },
    async stop() {
      if (!reader) return;
      reader.stop();
      await reader.done;
      reader = undefined;
    },
  };
}
