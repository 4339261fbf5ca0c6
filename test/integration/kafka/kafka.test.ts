// Integration test against the real test broker (test/infra/kafka, 127.0.0.1:19092).
// Invariants: one fresh topic per run (deleted afterwards); every wait is bounded in time;
// two independent clients check the same data: kafkajs (what the relay uses) and kcat
// (librdkafka), so a kafkajs-only encoding bug cannot pass unnoticed.
// The broker is started by `make test`; this test never starts it, it fails and says how.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Admin, Consumer, Producer } from 'kafkajs';

const BROKER = '127.0.0.1:19092';
const START_HINT = 'run `bash test/infra/services.sh start kafka`';
const RECORDS = 1000;
const PARTITIONS = 3;
const BATCH = 100;
const CONSUME_TIMEOUT_MS = 60_000;
const KCAT_TIMEOUT_MS = 30_000;
const HEADER = 'palisade-seq';

const runId = randomUUID().slice(0, 8);
const topic = `palisade-it-kafka-${runId}`;
const keyOf = (i: number): string => `k-${runId}-${String(i).padStart(4, '0')}`;
const valueOf = (i: number): string => `v-${runId}-${i}-${'x'.repeat(i % 17)}`;

const kafka = new Kafka({
  clientId: `palisade-it-${runId}`,
  brokers: [BROKER],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 10_000,
  retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
});

let admin: Admin | undefined;
let producer: Producer | undefined;
let consumer: Consumer | undefined;

before(async () => {
  const a = kafka.admin();
  try {
    await a.connect();
    await a.describeCluster();
  } catch (err) {
    await a.disconnect().catch(() => undefined);
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`Kafka test broker not reachable at ${BROKER} (${msg}); ${START_HINT}`, { cause: err });
  }
  admin = a;
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });
  assert.equal(created, true, `topic ${topic} already existed`);
});

after(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  if (admin) {
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    await admin.disconnect();
  }
});

type Received = { value: string; header: string | undefined; partition: number };

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}

test('kafkajs produces 1000 records and a kafkajs consumer reads each exactly once', async () => {
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  for (let start = 0; start < RECORDS; start += BATCH) {
    const messages = [];
    for (let i = start; i < Math.min(start + BATCH, RECORDS); i++) {
      messages.push({ key: keyOf(i), value: valueOf(i), headers: { [HEADER]: String(i) } });
    }
    const meta = await producer.send({ topic, acks: -1, messages });
    assert.ok(meta.every((m) => m.errorCode === 0), `produce error: ${JSON.stringify(meta)}`);
  }

  const received = new Map<string, Received>();
  const duplicates: string[] = [];
  const unexpected: string[] = [];
  const c = kafka.consumer({ groupId: `palisade-it-${runId}`, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  consumer = c;
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });

  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(
      `consumed ${received.size}/${RECORDS} records from ${topic} within ${CONSUME_TIMEOUT_MS} ms`)),
    CONSUME_TIMEOUT_MS);
    c.run({
      eachMessage: async ({ message, partition }) => {
        const key = message.key?.toString() ?? '';
        if (!key.startsWith(`k-${runId}-`)) unexpected.push(key);
        else if (received.has(key)) duplicates.push(key);
        else {
          received.set(key, {
            value: message.value?.toString() ?? '',
            header: headerText(message.headers?.[HEADER]),
            partition,
          });
        }
        if (received.size === RECORDS) resolve();
      },
    }).catch(reject);
  }).finally(() => clearTimeout(timer));
  await c.stop();

  assert.deepEqual(duplicates, [], 'records delivered more than once');
  assert.deepEqual(unexpected, [], 'records that this test did not produce');
  assert.equal(received.size, RECORDS);
  const partitionsSeen = new Set<number>();
  for (let i = 0; i < RECORDS; i++) {
    const got = received.get(keyOf(i));
    assert.ok(got, `record ${keyOf(i)} missing`);
    assert.equal(got.value, valueOf(i), `value of ${keyOf(i)}`);
    assert.equal(got.header, String(i), `header ${HEADER} of ${keyOf(i)}`);
    partitionsSeen.add(got.partition);
  }
  // Keys hash over all partitions; a single partition would mean keys were ignored.
  assert.equal(partitionsSeen.size, PARTITIONS, `partitions used: ${[...partitionsSeen].join(',')}`);
});

type KcatResult = { code: number | null; stdout: string; stderr: string };

function runKcat(args: readonly string[]): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: KCAT_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err) => reject(new Error(`cannot run kcat (${err.message}); install it with apt-get install -y kcat`)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('kcat (librdkafka) reads the same 1000 records with their values and header', async () => {
  // Runs after the first test (same file, sequential); fails clearly if that one produced nothing.
  const res = await runKcat([
    '-b', BROKER, '-C', '-t', topic, '-o', 'beginning', '-e', '-q',
    '-f', '%k\t%s\t%h\n',
  ]);
  assert.equal(res.code, 0, `kcat exited ${res.code}: ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, RECORDS, `kcat returned ${lines.length} records`);
  const seen = new Set<string>();
  for (const line of lines) {
    const [key = '', value, headers] = line.split('\t');
    const m = /^k-[0-9a-f]{8}-(\d{4})$/.exec(key);
    assert.ok(m, `unexpected key from kcat: ${JSON.stringify(key)}`);
    const i = Number(m[1]);
    assert.equal(key, keyOf(i));
    assert.ok(!seen.has(key), `duplicate record ${key} from kcat`);
    seen.add(key);
    assert.equal(value, valueOf(i), `value of ${key} via kcat`);
    assert.equal(headers, `${HEADER}=${i}`, `headers of ${key} via kcat`);
  }
  assert.equal(seen.size, RECORDS);
});
