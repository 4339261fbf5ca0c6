// Builders for relay unit tests.
import { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import type { RelayEvent } from '../../../relay/event.js';

export function alertEvent(seq: number, fields: Partial<Alert> = {}, nodeId = 'node-a'): RelayEvent {
  return {
    nodeId, bootId: 'boot-1', seq: BigInt(seq), enriched: true, count: 1, receivedAt: 0n,
    body: { $case: 'alert', value: Alert.create({ Type: 'MatchedPolicy', ContainerID: 'c1', PolicyName: 'p1', Action: 'Audit', Operation: 'File', Resource: `/etc/f${seq}`, ...fields }) },
  };
}

export function logEvent(seq: number, fields: Partial<Log> = {}, nodeId = 'node-a'): RelayEvent {
  return {
    nodeId, bootId: 'boot-1', seq: BigInt(seq), enriched: true, count: 1, receivedAt: 0n,
    body: { $case: 'log', value: Log.create({ Type: 'ContainerLog', ContainerID: 'c1', Operation: 'Process', Resource: `/bin/x${seq}`, ...fields }) },
  };
}

export function messageEvent(seq: number, fields: Partial<Message> = {}): RelayEvent {
  return { nodeId: 'node-a', bootId: 'boot-1', seq: BigInt(seq), enriched: true, count: 1, receivedAt: 0n, body: { $case: 'message', value: Message.create({ Type: 'Status', ...fields }) } };
}

export function alertOf(ev: RelayEvent): Alert {
  if (ev.body.$case !== 'alert') throw new Error(`expected an alert, got ${ev.body.$case}`);
  return ev.body.value;
}
