// A scanned batch's fresh entries as relay events, filled (ingest/fill.ts), each alert
// with its received bytes (RelayEvent.wire) when they may be forwarded as they are.
//
// Two ways, the same events: when every entry has exactly one event field, each entry
// is read on its own (batch-scan.ts readScannedEntries): alerts in place where WireAlert
// accepts them (ASCII strings, the ordinary encoding; their other fields decoded only if
// something uses them), other alerts, logs and messages by the generated decoder;
// otherwise the whole request goes through the generated decoder (decodeScanned). Either
// way an alert keeps its bytes only when its strings decoded to its bytes exactly.
import type { EventBody, RelayEvent } from '../event.js';
import { alertWireAt, decodeScanned, readScannedEntries, type EntryEvent, type ScannedBatch } from './batch-scan.js';
import type { Filler } from './fill.js';

/**
 * The events of the entries with fresh[i] === 1, in wire order. Throws when the bytes
 * do not decode (or decode to other seqs than the scan read): the batch is malformed.
 */
export function batchEvents(b: ScannedBatch, fresh: Uint8Array, fill: Filler, receivedAt: bigint): RelayEvent[] {
  const entries = readScannedEntries(b) ?? decodedEntries(b);
  const events: RelayEvent[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (fresh[i] !== 1) continue;
    const { body, exact } = entries[i] as EntryEvent;
    const filled = fill(body);
    const ev: RelayEvent = { nodeId: b.nodeId, bootId: b.bootId, seq: b.seqs[i] as bigint, body, enriched: true, count: 1, receivedAt };
    // alert bytes are forwarded only when they are what was decoded (batch-scan.ts)
    if (exact && body.$case === 'alert') ev.wire = alertWireAt(b, i, filled, body.value);
    events.push(ev);
  }
  return events;
}

/** The whole request through the generated decoder: exact for all entries or none (decodeScanned checks the seqs equal the scan's). */
function decodedEntries(b: ScannedBatch): EntryEvent[] {
  const { batch, exactStrings } = decodeScanned(b);
  return batch.entries.map((e) => ({ body: e.event as EventBody, exact: exactStrings }));
}
