// Sample messages for the proto tests: every field of every message set to a
// non-default value (distinct per field, so a swapped field is caught), plus one
// variant per oneof case. assertEveryFieldSet() makes the tests fail when a field
// is added to a .proto without a sample value here.
import assert from 'node:assert/strict';
import * as feeder from '../../../proto/gen/feeder/kubearmor.js';
import * as health from '../../../proto/gen/grpc/health/v1/health.js';
import { EventId } from '../../../proto/gen/palisade/v1/event.js';
import * as ingest from '../../../proto/gen/palisade/v1/ingest.js';
import * as policy from '../../../proto/gen/palisade/v1/policy.js';
import * as watch from '../../../proto/gen/palisade/v1/watch.js';

export type Codec<T> = {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  create(base?: unknown): T;
  toJSON(message: T): unknown;
  fromJSON(object: unknown): T;
};

export const podowner: feeder.Podowner = { Ref: 'Deployment', Name: 'nginx', Namespace: 'web' };
export const execEvent: feeder.ExecEvent = { ExecID: 'exec-42', ExecutableName: '/bin/cat' };

export const alert: feeder.Alert = {
  Timestamp: 1_732_900_000n,
  UpdatedTime: '2026-11-29T23:00:00.123456Z',
  ClusterName: 'default',
  HostName: 'node-a',
  NamespaceName: 'web',
  Owner: podowner,
  PodName: 'nginx-7c9-abcde',
  Labels: 'app=nginx,tier=front',
  ContainerID: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
  ContainerName: 'nginx',
  ContainerImage: 'docker.io/library/nginx:1.27',
  HostPPID: 4100,
  HostPID: 4242,
  PPID: 7,
  PID: 8,
  UID: -5, // negative: int32 (10-byte varint), not sint32/uint32
  ParentProcessName: '/bin/bash',
  ProcessName: '/bin/cat',
  PolicyName: 'block-etc-shadow',
  Severity: '7',
  Tags: 'MITRE,T1003',
  ATags: ['MITRE', 'T1003'],
  Message: 'read of /etc/shadow blocked',
  Type: 'MatchedPolicy',
  Source: '/bin/cat /etc/shadow',
  Operation: 'File',
  Resource: '/etc/shadow',
  Data: 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY',
  Enforcer: 'fanotify',
  Action: 'Block',
  Result: 'Operation not permitted',
  Cwd: '/root/',
  TTY: 'pts0',
  MaxAlertsPerSec: 10,
  DroppingAlertsInterval: 30,
  ExecEvent: execEvent,
  KubeArmorVersion: 'palisade-0.1.0',
};

export const log: feeder.Log = {
  Timestamp: 9_007_199_254_740_993n, // 2^53 + 1: exact only as bigint
  UpdatedTime: '2026-11-29T23:00:01.000001Z',
  ClusterName: 'prod',
  HostName: 'node-b',
  NamespaceName: 'db',
  Owner: { Ref: 'StatefulSet', Name: 'pg', Namespace: 'db' },
  PodName: 'pg-0',
  Labels: 'app=pg',
  ContainerID: 'feedface',
  ContainerName: 'postgres',
  ContainerImage: 'postgres:16',
  ParentProcessName: '/usr/bin/bash',
  ProcessName: '/usr/bin/psql',
  HostPPID: 100,
  HostPID: 101,
  PPID: 1,
  PID: 2,
  UID: 999,
  Type: 'ContainerLog',
  Source: '/usr/bin/psql',
  Operation: 'Network',
  Resource: 'remoteip=10.0.0.1 port=5432 protocol=TCP',
  Data: 'syscall=SYS_CONNECT',
  Result: 'Passed',
  Cwd: '/var/lib/postgresql/',
  TTY: 'pts1',
  ExecEvent: { ExecID: 'exec-7', ExecutableName: '/usr/bin/psql' },
};

export const message: feeder.Message = {
  Timestamp: -1n, // int64, negative survives
  UpdatedTime: '2026-11-29T23:00:02.000000Z',
  ClusterName: 'default',
  HostName: 'relay-0',
  HostIP: '10.0.0.2',
  Type: 'Dropped',
  Level: 'WARN',
  Message: 'client queue full: 12 events dropped',
};

export const eventId: EventId = { nodeId: 'node-uid-1', bootId: 'boot-1', seq: 18_446_744_073_709_551_615n };

const batch: ingest.Batch = {
  nodeId: 'node-uid-1',
  bootId: 'boot-1',
  firstSeq: 10n,
  lastSeq: 13n,
  entries: [
    { seq: 10n, event: { $case: 'alert', value: alert } },
    { seq: 11n, event: { $case: 'log', value: log } },
    { seq: 13n, event: { $case: 'message', value: message } },
  ],
};
const hello: ingest.Hello = {
  nodeId: 'node-uid-1',
  nodeName: 'node-a',
  bootId: 'boot-1',
  agentVersion: '0.1.0',
  capabilities: ['fanotify', 'cgroup-sock'],
  clusterName: 'default',
};
const flow: ingest.FlowControl = { maxInFlightBatches: 4, maxBatchEntries: 512, maxBatchBytes: 1 << 20, pauseMs: 250 };
const ingestError: ingest.IngestError = {
  code: ingest.IngestErrorCode.INGEST_ERROR_CODE_INVALID_BATCH,
  message: 'batch.entries[1].seq: 9 is below first_seq 10',
  retryable: true,
  firstSeq: 10n,
  lastSeq: 13n,
};
const policyRef: policy.PolicyRef = { kind: 'KubeArmorPolicy', namespace: 'web', name: 'block-etc-shadow' };
const validationError: policy.ValidationError = {
  path: 'spec.file.matchDirectories[0].dir',
  message: "must end with '/'",
  line: 12,
  column: 7,
};

/** One entry per message type (name as exported), each a list of samples. */
export type SampleSet = { readonly name: string; readonly codec: Codec<never>; readonly samples: readonly unknown[] };

function set<T>(name: string, codec: Codec<T>, ...samples: T[]): SampleSet {
  return { name, codec: codec as unknown as Codec<never>, samples };
}

export const feederSamples: readonly SampleSet[] = [
  set('NonceMessage', feeder.NonceMessage, { nonce: 123456 }),
  set('Message', feeder.Message, message),
  set('Podowner', feeder.Podowner, podowner),
  set('ExecEvent', feeder.ExecEvent, execEvent),
  set('Alert', feeder.Alert, alert),
  set('Log', feeder.Log, log),
  set('RequestMessage', feeder.RequestMessage, { Filter: 'policy' }),
  set('ReplyMessage', feeder.ReplyMessage, { Retval: -7 }),
];

export const healthSamples: readonly SampleSet[] = [
  set('HealthCheckRequest', health.HealthCheckRequest, { service: 'feeder.LogService' }),
  set('HealthCheckResponse', health.HealthCheckResponse, { status: health.HealthCheckResponse_ServingStatus.NOT_SERVING }),
];

export const palisadeSamples: readonly SampleSet[] = [
  set('EventId', EventId, eventId),
  set('IngestRequest', ingest.IngestRequest, { kind: { $case: 'hello', value: hello } }, { kind: { $case: 'batch', value: batch } }),
  set('Hello', ingest.Hello, hello),
  set('Batch', ingest.Batch, batch),
  set('Entry', ingest.Entry, ...batch.entries),
  set('IngestResponse', ingest.IngestResponse, { nodeId: 'node-uid-1', bootId: 'boot-1', ackedSeq: 13n, flow, error: ingestError }),
  set('FlowControl', ingest.FlowControl, flow),
  set('IngestError', ingest.IngestError, ingestError),
  set('PolicyRef', policy.PolicyRef, policyRef),
  set('ApplyPolicyRequest', policy.ApplyPolicyRequest, {
    document: 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\n',
    ref: policyRef,
    dryRun: true,
    source: 'policies/nginx.yaml',
  }),
  set('ValidationError', policy.ValidationError, validationError),
  set('ApplyPolicyResponse', policy.ApplyPolicyResponse, {
    status: policy.ApplyStatus.APPLY_STATUS_INVALID,
    ref: policyRef,
    generation: 3n,
    errors: [validationError],
    warnings: ['Capabilities rules are audit-only on this node'],
  }),
  set('DeletePolicyRequest', policy.DeletePolicyRequest, { ref: policyRef }),
  set('DeletePolicyResponse', policy.DeletePolicyResponse, { deleted: true }),
  set('ListPoliciesRequest', policy.ListPoliciesRequest, { kind: 'KubeArmorHostPolicy', namespace: 'kube-system' }),
  set('PolicySummary', policy.PolicySummary, {
    ref: policyRef,
    generation: 2n,
    appliedAtUnixMs: 1_764_457_200_000n,
    document: 'kind: KubeArmorPolicy\n',
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  }),
  set('ListPoliciesResponse', policy.ListPoliciesResponse, {
    policies: [{ ref: policyRef, generation: 1n, appliedAtUnixMs: 5n, document: 'd', sha256: 'x' }],
  }),
  set('WatchRequest', watch.WatchRequest, {
    kinds: [watch.EventKind.EVENT_KIND_ALERT, watch.EventKind.EVENT_KIND_MESSAGE],
    namespaces: ['web', 'db'],
    podSelector: 'app=nginx,tier!=db',
    operations: ['File', 'Process'],
    severities: ['7', '9'],
    minSeverity: 5,
    policyNames: ['block-etc-shadow'],
    actions: ['Block'],
    hostNames: ['node-a'],
    resumeAfter: '1732900000000-3',
    fromOldest: true,
  }),
  set(
    'WatchEvent',
    watch.WatchEvent,
    { id: eventId, cursor: '1732900000000-4', event: { $case: 'alert', value: alert }, enriched: true, count: 3, droppedBefore: 12n },
    { id: eventId, cursor: 'c5', event: { $case: 'log', value: log }, enriched: true, count: 1, droppedBefore: 1n },
    { id: eventId, cursor: 'c6', event: { $case: 'message', value: message }, enriched: true, count: 1, droppedBefore: 2n },
  ),
];

/** Every key of the message's defaults differs from the default in `sample`. */
export function assertEveryFieldSet(name: string, codec: Codec<never>, sample: unknown): void {
  const defaults = codec.create() as Record<string, unknown>;
  const s = sample as Record<string, unknown>;
  assert.deepEqual(Object.keys(s).sort(), Object.keys(defaults).sort(), `${name}: sample keys differ from the message's fields`);
  for (const [key, def] of Object.entries(defaults)) {
    const value = s[key];
    assert.notEqual(value, undefined, `${name}.${key}: sample leaves it unset`);
    assert.notDeepEqual(value, def, `${name}.${key}: sample has the default value`);
    if (Array.isArray(value)) assert.ok(value.length > 0, `${name}.${key}: sample list is empty`);
  }
}

/** Message codecs exported by a generated module: objects with encode/decode/create. */
export function messageCodecNames(module: Record<string, unknown>): string[] {
  return Object.entries(module)
    .filter(([, v]) => typeof v === 'object' && v !== null && 'encode' in v && 'decode' in v && 'create' in v)
    .map(([k]) => k)
    .sort();
}
