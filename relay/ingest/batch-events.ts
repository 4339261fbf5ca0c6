// A scanned batch's fresh entries as relay events, filled (ingest/fill.ts), each alert
// with its received bytes (RelayEvent.wire) when they may be forwarded as they are.
//
// Two ways, the same events: when every entry is exactly one alert that WireAlert
// accepts (ASCII strings, the ordinary encoding), the alerts are read in place and
// their other fields decoded only if something uses them (wire-alert.ts); otherwise the
// whole request goes through the generated decoder (batch-scan.ts decodeScanned),
// whose alerts keep their bytes only when every string decoded to its bytes exactly.
import type { EventBody, RelayEvent } from '../event.js';
import { alertWireAt, decodeScanned, readScannedAlerts, type ScannedBatch } from './batch-scan.js';
import type { Filler } from './fill.js';
import type { WireAlert } from './wire-alert.js';

/**
 * The events of the entries with fresh[i] === 1, in wire order. Throws when the bytes
 * do not decode (or decode to other seqs than the scan read): the batch is malformed.
 */
export function batchEvents(b: ScannedBatch, fresh: Uint8Array, fill: Filler, receivedAt: bigint): RelayEvent[] {
  const events: RelayEvent[] = [];
  const alerts = readScannedAlerts(b);
  if (alerts !== undefined) {
    for (let i = 0; i < alerts.length; i++) {
      if (fresh[i] !== 1) continue;
      const alert = alerts[i] as WireAlert;
      const body: EventBody = { $case: 'alert', value: alert };
      const ev: RelayEvent = { nodeId: b.nodeId, bootId: b.bootId, seq: b.seqs[i] as bigint, body, enriched: true, count: 1, receivedAt };
      ev.wire = alertWireAt(b, i, fill(body), alert);
      events.push(ev);
    }
    return events;
  }
  const { batch, exactStrings } = decodeScanned(b);
  batch.entries.forEach((e, i) => {
    if (fresh[i] !== 1) return;
    const body = e.event as NonNullable<typeof e.event>;
    const filled = fill(body);
    const ev: RelayEvent = { nodeId: b.nodeId, bootId: b.bootId, seq: e.seq, body, enriched: true, count: 1, receivedAt };
    // alert bytes are forwarded only when they are what was decoded (batch-scan.ts)
    if (exactStrings && body.$case === 'alert') ev.wire = alertWireAt(b, i, filled, body.value);
    events.push(ev);
  });
  return events;
}
