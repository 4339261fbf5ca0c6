// Wire encodings of hub entries, computed once per entry and shared by every client
// (a client's stream writes these bytes as they are; see raw services in
// log-service.ts and watch-service.ts). Alerts, the bulk of the traffic, use the
// hand-written encoder (alert-encode.ts, byte-identical to Alert.encode).
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import { WatchEvent } from '../../proto/gen/palisade/v1/watch.js';
import type { EventBody, RelayEvent } from '../event.js';
import type { Hub, HubEntry } from '../hub/hub.js';
import { encodeAlert, encodeAlertView, encodeAlertWireView } from './alert-encode.js';

export function encodeBody(b: EventBody): Buffer {
  switch (b.$case) {
    case 'alert': return encodeAlert(b.value);
    case 'log': return Buffer.from(Log.encode(b.value).finish());
    case 'message': return Buffer.from(Message.encode(b.value).finish());
  }
}

/** The feeder encoding for a caller that copies it at once (alerts: a view of the encoder's scratch buffer). */
export function encodeBodyTransient(b: EventBody): Uint8Array {
  switch (b.$case) {
    case 'alert': return encodeAlertView(b.value);
    case 'log': return Log.encode(b.value).finish();
    case 'message': return Message.encode(b.value).finish();
  }
}

/** encodeBodyTransient, forwarding an alert's received bytes when it can (RelayEvent.wire). */
export function encodeEventTransient(ev: RelayEvent): Uint8Array {
  const b = ev.body;
  if (b.$case === 'alert' && ev.wire !== undefined) {
    const bytes = encodeAlertWireView(b.value, ev.wire);
    if (bytes !== undefined) return bytes;
  }
  return encodeBodyTransient(b);
}

export function feederBytes(e: HubEntry): Buffer {
  if (!e.feederBytes) e.feederBytes = encodeBody(e.ev.body);
  return e.feederBytes;
}

/** WatchEvent without dropped_before; a client's dropped_before is appended (field 8). */
export function watchBytes(e: HubEntry, hub: Hub): Buffer {
  if (!e.watchBytes) {
    const ev = e.ev;
    e.watchBytes = Buffer.from(WatchEvent.encode({
      id: { nodeId: ev.nodeId, bootId: ev.bootId, seq: ev.seq },
      cursor: hub.cursorOf(e),
      event: ev.body,
      enriched: ev.enriched,
      count: ev.count,
      droppedBefore: 0n,
    }).finish());
  }
  return e.watchBytes;
}

/** Protobuf fields may be appended to an encoded message: field 8 (dropped_before) as a varint. */
export function withDroppedBefore(bytes: Buffer, dropped: number): Buffer {
  if (dropped === 0) return bytes;
  const tail = new BinaryWriter().uint32((8 << 3) | 0).uint64(BigInt(dropped)).finish();
  return Buffer.concat([bytes, tail]);
}
