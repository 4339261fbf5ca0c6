// Turns what a KubeArmor agent streams (feeder Alert, Log, Message) into relay
// events. One EventStamper per connection to an agent: the connection is a
// "boot" of that upstream (KubeArmor streams have no cursor, so a reconnect is a
// new sequence space), seq counts from 1 in arrival order across the three streams.
//
// Invariants: the feeder message is kept as received (it is what clients see),
// except that an empty ClusterName / HostName is filled in, as ingest does for
// Palisade enforcers; events are marked enriched (the agent already filled the
// Kubernetes identity; the relay's enricher may still overwrite it).
import { randomUUID } from 'node:crypto';
import type { Alert, Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import type { EventBody, RelayEvent } from '../event.js';

export type UpstreamKind = 'alert' | 'log' | 'message';

export interface EventStamper {
  readonly nodeId: string;
  readonly bootId: string;
  /** The last seq given out (0 before the first event). */
  readonly seq: bigint;
  alert(a: Alert): RelayEvent;
  log(l: Log): RelayEvent;
  message(m: Message): RelayEvent;
}

export type StampOptions = {
  readonly nodeId: string;
  /** Filled into events whose ClusterName is empty. */
  readonly clusterName: string;
  /** Filled into events whose HostName is empty ('' = leave empty). */
  readonly hostName: string;
  readonly bootId?: string;
};

export function createEventStamper(o: StampOptions): EventStamper {
  const bootId = o.bootId ?? randomUUID();
  let seq = 0n;
  const fill = (v: Alert | Log | Message): void => {
    if (v.ClusterName === '') v.ClusterName = o.clusterName;
    if (v.HostName === '') v.HostName = o.hostName;
  };
  const make = (body: EventBody): RelayEvent => {
    fill(body.value);
    return { nodeId: o.nodeId, bootId, seq: ++seq, body, enriched: true, count: 1, receivedAt: process.hrtime.bigint() };
  };
  return {
    nodeId: o.nodeId,
    bootId,
    get seq() {
      return seq;
    },
    alert: (value) => make({ $case: 'alert', value }),
    log: (value) => make({ $case: 'log', value }),
    message: (value) => make({ $case: 'message', value }),
  };
}
