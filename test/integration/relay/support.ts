// Helpers for relay integration tests: a relay on loopback ephemeral ports, real
// gRPC ingest clients (simulated enforcers) and real log-stream clients.
import { credentials, Metadata, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Alert, LogServiceClient, type Log, type Message } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestClient, type IngestRequest, type IngestResponse, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { defaultConfig, type RelayConfig } from '../../../relay/config.js';
import { createRelay, type Relay, type RelayAddresses, type RelayOptions } from '../../../relay/relay.js';

// Each simulated node or client gets its own HTTP/2 connection, as separate processes
// would (grpc-js otherwise shares one connection between clients of the same target).
export const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 } as const;

export type DeepPartialConfig = { [K in keyof RelayConfig]?: RelayConfig[K] extends object ? Partial<RelayConfig[K]> : RelayConfig[K] };

export function testConfig(over: DeepPartialConfig = {}): RelayConfig {
  const d = defaultConfig();
  const out: Record<string, unknown> = { ...d };
  for (const [k, v] of Object.entries(over)) {
    const base = (d as unknown as Record<string, unknown>)[k];
    out[k] = typeof base === 'object' && base !== null ? { ...base, ...(v as object) } : v;
  }
  const c = out as unknown as RelayConfig;
  return {
    ...c,
    logLevel: 'silent',
    ingest: { ...c.ingest, listen: over.ingest?.listen ?? '127.0.0.1:0' },
    logStream: { ...c.logStream, listen: over.logStream?.listen ?? '127.0.0.1:0' },
  };
}

export async function startRelay(over: DeepPartialConfig = {}, opts: RelayOptions = {}): Promise<{ relay: Relay; addrs: RelayAddresses }> {
  const relay = createRelay(testConfig(over), { log: pino({ level: 'silent' }), ...opts });
  const addrs = await relay.start();
  return { relay, addrs };
}

/** Resolves when cond() holds; rejects after `max` polls of `everyMs` (bounded). */
export async function until(cond: () => boolean, what: string, max = 400, everyMs = 25): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function alertFor(node: string, seq: number, fields: Partial<Alert> = {}): Alert {
  return Alert.create({
    Timestamp: BigInt(Math.floor(Date.now() / 1000)), HostName: node, ContainerID: `ctr-${node}`, Type: 'MatchedPolicy',
    PolicyName: 'audit-etc', Severity: '3', Operation: 'File', Resource: `/etc/file-${node}-${seq}`, Action: 'Audit', Result: 'Passed', ...fields,
  });
}

/** A simulated enforcer: one Ingest stream; records every response. */
export class Enforcer {
  readonly client: IngestClient;
  readonly responses: IngestResponse[] = [];
  status: ServiceError | undefined;
  ended = false;
  private call: ClientDuplexStream<IngestRequest, IngestResponse> | undefined;
  constructor(readonly address: string, readonly nodeId: string, readonly bootId = 'boot-1') {
    this.client = new IngestClient(address, credentials.createInsecure(), OWN_CONNECTION);
  }
  open(): this {
    const call = this.client.stream();
    call.on('data', (r: IngestResponse) => this.responses.push(r));
    call.on('error', (e: ServiceError) => { this.status = e; this.ended = true; });
    call.on('end', () => { this.ended = true; });
    call.on('status', () => { this.ended = true; });
    this.call = call;
    return this;
  }
  send(req: IngestRequest): void {
    this.call?.write(req);
  }
  hello(clusterName = ''): void {
    this.send({ kind: { $case: 'hello', value: { nodeId: this.nodeId, nodeName: this.nodeId, bootId: this.bootId, agentVersion: 'test', capabilities: [], clusterName } } });
  }
  batch(first: number, last: number, entries: Entry[], nodeId = this.nodeId, bootId = this.bootId): void {
    this.send({ kind: { $case: 'batch', value: { nodeId, bootId, firstSeq: BigInt(first), lastSeq: BigInt(last), entries } } });
  }
  alerts(first: number, last: number, fields: (seq: number) => Partial<Alert> = () => ({})): void {
    const entries: Entry[] = [];
    for (let s = first; s <= last; s++) entries.push({ seq: BigInt(s), event: { $case: 'alert', value: alertFor(this.nodeId, s, fields(s)) } });
    this.batch(first, last, entries);
  }
  acked(bootId = this.bootId): bigint {
    let max = -1n;
    for (const r of this.responses) if (r.bootId === bootId && r.ackedSeq > max) max = r.ackedSeq;
    return max;
  }
  end(): void {
    this.call?.end();
  }
  close(): void {
    this.call?.cancel();
    this.client.close();
  }
}

/** A log-stream client (like karmor logs) collecting what it receives. */
export class Watcher<T extends Alert | Log | Message> {
  readonly got: T[] = [];
  status: ServiceError | undefined;
  ended = false;
  readonly client: LogServiceClient;
  readonly call: ClientReadableStream<T>;
  constructor(address: string, rpc: 'watchAlerts' | 'watchLogs' | 'watchMessages', filter: string) {
    this.client = new LogServiceClient(address, credentials.createInsecure(), OWN_CONNECTION);
    this.call = (this.client[rpc] as (r: { Filter: string }, m: Metadata) => ClientReadableStream<T>)({ Filter: filter }, new Metadata());
    this.call.on('data', (x: T) => this.got.push(x));
    this.call.on('error', (e: ServiceError) => { this.status = e; this.ended = true; });
    this.call.on('end', () => { this.ended = true; });
  }
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Waits until the relay has `n` live watch streams (so no event is published before they subscribe). */
export async function watchersReady(relay: Relay, n: number): Promise<void> {
  await until(() => relay.activeWatchStreams >= n, `${n} watch streams`);
}
