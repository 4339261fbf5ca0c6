// A log-stream server assembled from the relay's own parts (hub, feeder.LogService
// and palisade.v1 Watch implementations from relay/serve) with relay/tls credentials
// and relay/access hooks, on a loopback port. The relay's createRelay() does not
// take an Access yet (see relay/access/README.md for the wiring), so the tests
// compose the same services here.
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { createHub, type Hub } from '../../../relay/hub/hub.js';
import { createCounters, type Counters } from '../../../relay/metrics/counters.js';
import { createLogService, rawLogService } from '../../../relay/serve/log-service.js';
import { createWatchService, rawWatchService } from '../../../relay/serve/watch-service.js';
import { createAccessHooks } from '../../../relay/access/hooks.js';
import type { Access } from '../../../relay/access/access.js';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import type { RelayEvent } from '../../../relay/event.js';

export type LogStreamServer = { readonly port: number; readonly hub: Hub; readonly counters: Counters; close(): Promise<void> };

export async function startLogStreamServer(creds: ServerCredentials, makeAccess: (c: Counters) => Access): Promise<LogStreamServer> {
  const counters = createCounters();
  const access = makeAccess(counters);
  const hub = createHub({ ringSize: 1000, clientQueueSize: 1000, counters });
  const hooks = createAccessHooks(access);
  const common = { hub, counters, clusterName: 'test', hostName: 'relay-test', admit: hooks.admit, release: () => undefined, namespacesOf: hooks.namespacesOf };
  const server = new Server();
  server.addService(rawLogService, createLogService(common));
  server.addService(rawWatchService, createWatchService(common));
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port, hub, counters,
    close: () => new Promise<void>((resolve) => {
      hub.close();
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    }),
  };
}

let seq = 0n;
export function alertIn(namespace: string, policy: string): RelayEvent {
  seq++;
  return {
    nodeId: 'node-1', bootId: 'boot-1', seq, enriched: true, count: 1, receivedAt: 0n,
    body: { $case: 'alert', value: Alert.create({ NamespaceName: namespace, PolicyName: policy, HostName: 'node-1', Operation: 'Process', Action: 'Block', Timestamp: 1n }) },
  };
}

/** Waits (bounded: 500 polls of 10 ms) until the hub has `n` subscribers. */
export async function waitSubscribers(hub: Hub, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (hub.subscribers >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`hub has ${hub.subscribers} subscribers, expected ${n}`);
}
