// Turns the recovered spool back into relay state at start-up:
//   1. dedup: every record's range is committed in LSN order, as ingest committed it
//      when it acked, so a batch the enforcer resends after the restart is recognised
//      as a duplicate. Seqs of a (node, boot) below its oldest spooled record are taken
//      as acked (their records were acked, then deleted by retention; the enforcer
//      resends from its acked seq, never below it), so its acked seq is not 0 after a
//      restart and its next batches are within ingest.dedupWindow.
//   2. events: the newest records holding about `maxEvents` seqs (what the hub can
//      retain) are decoded; their events that were fresh when acked (not duplicates
//      at that point of the log) are rebuilt with the values ingest filled in, for
//      the caller to hand to the hub in LSN order.
// A record whose bytes passed the CRC but do not decode as an IngestRequest batch of
// its header's node and boot is skipped and counted (it was never acked in that form).
import { IngestRequest } from '../../proto/gen/palisade/v1/ingest.js';
import type { RelayEvent } from '../event.js';
import type { DedupWindow } from '../ingest/dedup-window.js';
import { makeFiller } from '../ingest/fill.js';
import type { BatchRecord } from './format.js';

export type ReplayRecord = { readonly lsn: bigint; readonly events: RelayEvent[] };

export type ReplayPlan = {
  /** Records whose events go back into the hub, in LSN order. */
  readonly replay: readonly ReplayRecord[];
  /** Records only used for dedup (older than what the hub could hold). */
  readonly dedupOnly: readonly bigint[];
  readonly undecodable: number;
};

export function planReplay(records: readonly BatchRecord[], dedup: DedupWindow, maxEvents: number): ReplayPlan {
  const key = (r: BatchRecord): string => `${r.nodeId}\u0000${r.bootId}`;
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(key(r))) continue;
    seen.add(key(r));
    if (r.firstSeq > 1n) dedup.commit(r.nodeId, r.bootId, 1n, r.firstSeq - 1n);
  }
  // the newest records whose seq spans reach maxEvents (a span bounds its event count)
  let start = records.length;
  for (let sum = 0; start > 0 && sum < maxEvents; start--) {
    const r = records[start - 1] as BatchRecord;
    sum += Number(r.lastSeq - r.firstSeq) + 1;
  }
  const replay: ReplayRecord[] = [];
  const dedupOnly: bigint[] = [];
  let undecodable = 0;
  const receivedAt = process.hrtime.bigint();
  records.forEach((r, i) => {
    if (i < start || r.raw.length === 0) { // older than the hub could hold, or its bytes were not kept
      dedup.commit(r.nodeId, r.bootId, r.firstSeq, r.lastSeq);
      dedupOnly.push(r.lsn);
      return;
    }
    let req: IngestRequest;
    try {
      req = IngestRequest.decode(r.raw);
    } catch {
      undecodable++;
      dedupOnly.push(r.lsn);
      return;
    }
    const b = req.kind?.$case === 'batch' ? req.kind.value : undefined;
    if (!b || b.nodeId !== r.nodeId || b.bootId !== r.bootId || b.firstSeq !== r.firstSeq || b.lastSeq !== r.lastSeq) {
      undecodable++;
      dedupOnly.push(r.lsn);
      return;
    }
    const fill = makeFiller(r.hostName, r.clusterName, r.receivedAtMs);
    const events: RelayEvent[] = [];
    for (const e of b.entries) {
      if (e.event === undefined || dedup.isDuplicate(r.nodeId, r.bootId, e.seq)) continue;
      fill(e.event);
      events.push({ nodeId: r.nodeId, bootId: r.bootId, seq: e.seq, body: e.event, enriched: true, count: 1, receivedAt });
    }
    dedup.commit(r.nodeId, r.bootId, r.firstSeq, r.lastSeq);
    replay.push({ lsn: r.lsn, events });
  });
  return { replay, dedupOnly, undecodable };
}
