// The relay process itself (createRelay) with certificates from `palisade certs`
// and mutual TLS on: an enforcer or log client without a client certificate is
// refused in the handshake; with one, ingest → log stream works end to end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { run as certs } from '../../../cli/commands/certs.js';
import { loadChannelCredentials } from '../../../relay/tls/credentials.js';
import { LogServiceClient, type Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestClient, type IngestResponse } from '../../../proto/gen/palisade/v1/ingest.js';
import { alertFor, OWN_CONNECTION, startRelay, until } from '../relay/support.js';
import type { Relay, RelayAddresses } from '../../../relay/relay.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-relay-mtls-'));
const f = (n: string): string => join(dir, n);

describe('relay with mutual TLS (palisade certs)', { timeout: 120_000 }, () => {
  let relay: Relay;
  let addrs: RelayAddresses;
  const closers: Array<() => void> = [];

  before(async () => {
    const w = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      assert.equal(await certs(['--out', dir, '--client', 'node-1', '--client', 'viewer']), 0);
    } finally {
      process.stdout.write = w;
    }
    ({ relay, addrs } = await startRelay({ tls: { certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt'), requireClientCert: true } }));
  });
  after(async () => {
    for (const c of closers) c();
    await relay?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  const creds = (client?: string): ChannelCredentials => {
    const r = loadChannelCredentials(client ? { caFile: f('ca.crt'), certFile: f(`client-${client}.crt`), keyFile: f(`client-${client}.key`) } : { caFile: f('ca.crt') });
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.value;
  };

  it('an enforcer without a client certificate is refused (UNAVAILABLE), nothing reaches ingest', async () => {
    const c = new IngestClient(addrs.ingest, creds(), OWN_CONNECTION);
    closers.push(() => c.close());
    const call = c.stream();
    const err = await new Promise<ServiceError>((resolve) => call.on('error', resolve));
    assert.equal(err.code, Status.UNAVAILABLE);
    assert.equal(relay.activeIngestStreams, 0);
    assert.equal(relay.counters.total('palisade_relay_ingest_events_total'), 0);
  });

  it('a log client without a client certificate is refused; with one it receives what an authenticated enforcer sent', async () => {
    const anon = new LogServiceClient(addrs.logStream, creds(), OWN_CONNECTION);
    closers.push(() => anon.close());
    const refused = await new Promise<ServiceError>((resolve) => anon.watchAlerts({ Filter: 'all' }).on('error', resolve));
    assert.equal(refused.code, Status.UNAVAILABLE);

    const viewer = new LogServiceClient(addrs.logStream, creds('viewer'), OWN_CONNECTION);
    closers.push(() => viewer.close());
    const got: Alert[] = [];
    const stream = viewer.watchAlerts({ Filter: 'all' });
    stream.on('data', (a: Alert) => got.push(a));
    stream.on('error', () => undefined);
    closers.push(() => stream.cancel());
    await until(() => relay.activeWatchStreams >= 1, 'viewer subscribed');

    const node = new IngestClient(addrs.ingest, creds('node-1'), OWN_CONNECTION);
    closers.push(() => node.close());
    const call = node.stream();
    const acks: IngestResponse[] = [];
    call.on('data', (r: IngestResponse) => acks.push(r));
    call.on('error', () => undefined);
    closers.push(() => call.cancel());
    call.write({ kind: { $case: 'hello', value: { nodeId: 'node-1', nodeName: 'node-1', bootId: 'b', agentVersion: 't', capabilities: [], clusterName: '' } } });
    call.write({ kind: { $case: 'batch', value: { nodeId: 'node-1', bootId: 'b', firstSeq: 1n, lastSeq: 2n, entries: [1, 2].map((s) => ({ seq: BigInt(s), event: { $case: 'alert' as const, value: alertFor('node-1', s, { PolicyName: `mtls-${s}` }) } })) } } });
    await until(() => got.length >= 2 && acks.some((a) => a.ackedSeq === 2n), 'two alerts delivered and acked');
    assert.deepEqual(got.map((a) => a.PolicyName), ['mtls-1', 'mtls-2']);
  });
});
