// The relay's unit of work: one event from one node, with its identity
// (nodeId, bootId, seq) kept from ingest to every client and sink.
//
// Invariants: `body` is the feeder message exactly as KubeArmor clients will see it
// (enrichment and throttling edit it before the hub, never after); `count` >= 1 is
// how many identical occurrences this event stands for; `enriched` is false only
// when a container event was sent without Kubernetes identity.
import { Alert, Message, type Log } from '../proto/gen/feeder/kubearmor.js';

export type EventBody =
  | { readonly $case: 'alert'; readonly value: Alert }
  | { readonly $case: 'log'; readonly value: Log }
  | { readonly $case: 'message'; readonly value: Message };

export type RelayEvent = {
  readonly nodeId: string;
  readonly bootId: string;
  readonly seq: bigint;
  readonly body: EventBody;
  enriched: boolean;
  count: number;
  /** process.hrtime.bigint() when the batch arrived; for latency metrics only. */
  readonly receivedAt: bigint;
  /**
   * An alert's bytes as ingest received them, which the hub forwards instead of
   * re-encoding the alert (serve/alert-encode.ts encodeAlertWireView). Valid only while
   * the alert differs from those bytes by ingest's filled fields and enrichment's
   * identity fields: whoever changes any other field of the alert clears it.
   */
  wire?: AlertWire;
};

/**
 * Drops the event's references to its ingest request's bytes, for an event kept longer
 * than its hand-off (held by collapse, kept in a ring of objects): `wire`, and an alert
 * read in place (ingest/wire-alert.ts) decodes what it has not decoded yet and lets the
 * bytes go. Otherwise one kept event would keep its whole request alive.
 */
export function dropIngestBytes(ev: RelayEvent): void {
  ev.wire = undefined;
  if (ev.body.$case === 'alert') (ev.body.value as Partial<BytesHolder>).detach?.();
}

/** An object that refers to received bytes until detach() (ingest/wire-alert.ts WireAlert). */
export interface BytesHolder {
  detach(): void;
}

/** See RelayEvent.wire. */
export type AlertWire = {
  /** The ingest request's bytes; the Alert message is raw[start, end). */
  readonly raw: Buffer;
  readonly start: number;
  readonly end: number;
  /** The FILLED_* bits of the fields ingest filled (ingest/fill.ts). */
  readonly filled: number;
  /** The IDENTITY_* bits of the identity fields the bytes already set (non-empty). */
  readonly identity: number;
};

export const FILLED_TIMESTAMP = 1;
export const FILLED_UPDATED_TIME = 2;
export const FILLED_CLUSTER_NAME = 4;
export const FILLED_HOST_NAME = 8;

export const IDENTITY_NAMESPACE = 1;
export const IDENTITY_POD = 2;
export const IDENTITY_LABELS = 4;
export const IDENTITY_CONTAINER_NAME = 8;
export const IDENTITY_CONTAINER_IMAGE = 16;
export const IDENTITY_OWNER = 32;

/**
 * The IDENTITY_* bits of the identity fields an alert sets: the fields enrichment
 * assigns (enrich/enricher.ts apply) and serve/alert-encode.ts identityBlock appends
 * (with ContainerID, which enrichment never changes). A field added to one is added here.
 */
export function identityBits(a: Alert): number {
  return (a.NamespaceName === '' ? 0 : IDENTITY_NAMESPACE) | (a.PodName === '' ? 0 : IDENTITY_POD)
    | (a.Labels === '' ? 0 : IDENTITY_LABELS) | (a.ContainerName === '' ? 0 : IDENTITY_CONTAINER_NAME)
    | (a.ContainerImage === '' ? 0 : IDENTITY_CONTAINER_IMAGE) | (a.Owner === undefined ? 0 : IDENTITY_OWNER);
}

let lastMs = NaN;
let lastText = '';

/**
 * "2006-01-02T15:04:05.000000Z", the UpdatedTime format of KubeArmor. Ingest calls
 * it per event with whole seconds, so the last result is kept (one entry).
 */
export function updatedTime(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    lastMs = ms;
  }
  return lastText;
}

export function containerIdOf(body: EventBody): string {
  return body.$case === 'message' ? '' : body.value.ContainerID;
}

/** A relay-generated event (throttle notices, drop notices) gets node id "relay". */
export const RELAY_NODE_ID = 'relay';

export interface RelayEventFactory {
  /** A relay-generated alert (throttle and drop notices): nodeId "relay", the relay's boot id, a fresh seq. */
  alert(fields: Partial<Alert>, nowMs: number): RelayEvent;
  message(fields: Partial<Message>, nowMs: number): RelayEvent;
}

export function createRelayEventFactory(bootId: string): RelayEventFactory {
  let seq = 0n;
  const make = (body: EventBody): RelayEvent => ({
    nodeId: RELAY_NODE_ID, bootId, seq: ++seq, body, enriched: true, count: 1, receivedAt: process.hrtime.bigint(),
  });
  return {
    alert: (fields, nowMs) => make({ $case: 'alert', value: Alert.create({ Timestamp: BigInt(Math.floor(nowMs / 1000)), UpdatedTime: updatedTime(nowMs), ...fields }) }),
    message: (fields, nowMs) => make({ $case: 'message', value: Message.create({ Timestamp: BigInt(Math.floor(nowMs / 1000)), UpdatedTime: updatedTime(nowMs), ...fields }) }),
  };
}

