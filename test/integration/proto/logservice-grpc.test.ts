// Real gRPC over loopback with the generated code on both sides: a grpc-js server
// implementing feeder.LogService and palisade.v1.Ingest from the generated service
// definitions, and the generated clients. Proves the definitions (paths, streaming
// kinds, serializers) work end to end, not only the codecs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, status, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  LogServiceClient,
  LogServiceService,
  type Alert,
  type Log,
  type Message,
  type LogServiceServer,
} from '../../../proto/gen/feeder/kubearmor.js';
import {
  IngestClient,
  IngestService,
  type IngestRequest,
  type IngestResponse,
  type IngestServer,
} from '../../../proto/gen/palisade/v1/ingest.js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  HealthService,
  type HealthServer,
} from '../../../proto/gen/grpc/health/v1/health.js';
import { alert, log, message, palisadeSamples } from '../../unit/proto/samples.js';

const SAFETY_TIMEOUT_MS = 30_000; // bound on a hung test, not an assertion

const secondAlert: Alert = { ...alert, PID: 9, Resource: '/etc/gshadow', ATags: ['second'] };
const filtersSeen: string[] = [];
const ingestSeen: IngestRequest[] = [];

const logService: LogServiceServer = {
  healthCheck: (call, callback) => callback(null, { Retval: call.request.nonce }),
  watchAlerts: (call) => {
    filtersSeen.push(`alerts:${call.request.Filter}`);
    call.write(alert);
    call.write(secondAlert);
    call.end();
  },
  watchLogs: (call) => {
    filtersSeen.push(`logs:${call.request.Filter}`);
    call.write(log);
    call.end();
  },
  watchMessages: (call) => {
    filtersSeen.push(`messages:${call.request.Filter}`);
    call.write(message);
    call.end();
  },
};

// Minimal ingest peer: answers the hello with acked 0, each batch with its last_seq.
const ingestService: IngestServer = {
  stream: (call: ServerDuplexStream<IngestRequest, IngestResponse>) => {
    call.on('data', (req: IngestRequest) => {
      ingestSeen.push(req);
      if (req.kind?.$case === 'hello') {
        call.write({ nodeId: req.kind.value.nodeId, bootId: req.kind.value.bootId, ackedSeq: 0n, flow: undefined, error: undefined });
      } else if (req.kind?.$case === 'batch') {
        const b = req.kind.value;
        call.write({ nodeId: b.nodeId, bootId: b.bootId, ackedSeq: b.lastSeq, flow: undefined, error: undefined });
      }
    });
    call.on('end', () => call.end());
  },
};

// Standard health service: the server as a whole and feeder.LogService are SERVING.
const healthService: HealthServer = {
  check: (call, callback) => {
    const known = call.request.service === '' || call.request.service === 'feeder.LogService';
    if (!known) {
      callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` }, null);
      return;
    }
    callback(null, { status: ServingStatus.SERVING });
  },
  watch: (call) => {
    call.write({ status: ServingStatus.SERVING });
    call.end();
  },
};

let server: Server;
let address = '';

before(async () => {
  server = new Server();
  server.addService(LogServiceService, logService);
  server.addService(IngestService, ingestService);
  server.addService(HealthService, healthService);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  assert.ok(port > 0);
  address = `127.0.0.1:${port}`;
});

after(() => {
  server.forceShutdown();
});

async function collect<T>(stream: AsyncIterable<unknown>, limit: number): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) {
    items.push(item as T);
    if (items.length > limit) throw new Error(`stream sent more than ${limit} items`);
  }
  return items;
}

describe('feeder.LogService over gRPC', { timeout: SAFETY_TIMEOUT_MS }, () => {
  test('HealthCheck echoes the nonce', async () => {
    const client = new LogServiceClient(address, credentials.createInsecure());
    try {
      const reply = await new Promise<number>((resolve, reject) => {
        client.healthCheck({ nonce: 987_654 }, (err, res) => (err ? reject(err) : resolve(res.Retval)));
      });
      assert.equal(reply, 987_654);
    } finally {
      client.close();
    }
  });

  test('WatchAlerts streams Alerts that arrive intact, in order', async () => {
    const client = new LogServiceClient(address, credentials.createInsecure());
    try {
      const got = await collect<Alert>(client.watchAlerts({ Filter: 'policy' }), 10);
      assert.deepStrictEqual(got, [alert, secondAlert]);
      assert.ok(filtersSeen.includes('alerts:policy'));
    } finally {
      client.close();
    }
  });

  test('WatchLogs and WatchMessages stream their types', async () => {
    const client = new LogServiceClient(address, credentials.createInsecure());
    try {
      assert.deepStrictEqual(await collect<Log>(client.watchLogs({ Filter: 'system' }), 10), [log]);
      assert.deepStrictEqual(await collect<Message>(client.watchMessages({ Filter: 'all' }), 10), [message]);
      assert.ok(filtersSeen.includes('logs:system'));
      assert.ok(filtersSeen.includes('messages:all'));
    } finally {
      client.close();
    }
  });
});

describe('palisade.v1.Ingest over gRPC', { timeout: SAFETY_TIMEOUT_MS }, () => {
  test('hello then one batch: the relay side acks the batch last_seq', async () => {
    const requests = palisadeSamples.find((s) => s.name === 'IngestRequest')?.samples as IngestRequest[];
    const [hello, batch] = requests;
    assert.ok(hello?.kind?.$case === 'hello' && batch?.kind?.$case === 'batch');
    const client = new IngestClient(address, credentials.createInsecure());
    try {
      const call = client.stream();
      const responses = call[Symbol.asyncIterator]();
      call.write(hello);
      const first = await responses.next();
      assert.equal(first.done, false);
      assert.deepStrictEqual(first.value as IngestResponse, { nodeId: 'node-uid-1', bootId: 'boot-1', ackedSeq: 0n, flow: undefined, error: undefined });
      call.write(batch);
      const ack = await responses.next();
      assert.equal(ack.done, false);
      const ackValue = ack.value as IngestResponse;
      assert.equal(ackValue.ackedSeq, batch.kind.value.lastSeq);
      assert.equal(ackValue.ackedSeq, 13n);
      assert.equal(ackValue.nodeId, batch.kind.value.nodeId);
      call.end();
      const last = await responses.next();
      assert.equal(last.done, true, 'server ends its side after the client does');
      // The server received exactly what was sent, entries intact.
      assert.deepStrictEqual(ingestSeen, [hello, batch]);
    } finally {
      client.close();
    }
  });
});

describe('grpc.health.v1.Health over gRPC', { timeout: SAFETY_TIMEOUT_MS }, () => {
  test('Check: SERVING for a known service, NOT_FOUND for an unknown one', async () => {
    const client = new HealthClient(address, credentials.createInsecure());
    try {
      const check = (service: string): Promise<ServingStatus> =>
        new Promise((resolve, reject) => {
          client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status)));
        });
      assert.equal(await check('feeder.LogService'), ServingStatus.SERVING);
      assert.equal(await check(''), ServingStatus.SERVING);
      await assert.rejects(check('no.such.Service'), (err: ServiceError) => err.code === status.NOT_FOUND);
    } finally {
      client.close();
    }
  });
});
