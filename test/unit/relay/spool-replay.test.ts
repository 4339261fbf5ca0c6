// relay/spool/replay.ts and cursor-map.ts: dedup rebuilt from recovered records
// (including the baseline below a space's oldest record), events that were fresh when
// acked rebuilt with the stored fill-in values, the replay window, undecodable
// records; old cursors mapped through marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { createDedupWindow } from '../../../relay/ingest/dedup-window.js';
import { TYPE_BATCH, TYPE_MARK, type BatchRecord, type MarkRecord } from '../../../relay/spool/format.js';
import { planReplay } from '../../../relay/spool/replay.js';
import { createCursorMap } from '../../../relay/spool/cursor-map.js';

let lsn = 0n;
function rec(node: string, first: number, last: number, seqs: number[] = range(first, last), over: Partial<BatchRecord> = {}): BatchRecord {
  const entries: Entry[] = seqs.map((s) => ({ seq: BigInt(s), event: { $case: 'alert', value: Alert.create({ Resource: `/f${s}`, ContainerID: 'c' }) } }));
  const raw = Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: node, bootId: 'b', firstSeq: BigInt(first), lastSeq: BigInt(last), entries } } }).finish());
  return { type: TYPE_BATCH, lsn: ++lsn, receivedAtMs: 1_700_000_123_456, nodeId: node, bootId: 'b', firstSeq: BigInt(first), lastSeq: BigInt(last), hostName: `host-${node}`, clusterName: 'prod', raw, ...over };
}
function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

test('dedup is rebuilt in log order; only events fresh when acked are replayed, with the stored fill-ins', () => {
  const records = [rec('n1', 1, 5), rec('n1', 4, 8) /* a resend overlapping 4..5 */, rec('n2', 1, 3), rec('n1', 9, 12, [9, 11, 12]) /* 10 lost */];
  const dedup = createDedupWindow({ window: 65_536 });
  const plan = planReplay(records, dedup, 1000);
  assert.equal(dedup.acked('n1', 'b'), 12n);
  assert.equal(dedup.acked('n2', 'b'), 3n);
  const seqs = plan.replay.map((r) => r.events.map((e) => `${e.nodeId}:${e.seq}`));
  assert.deepEqual(seqs, [['n1:1', 'n1:2', 'n1:3', 'n1:4', 'n1:5'], ['n1:6', 'n1:7', 'n1:8'], ['n2:1', 'n2:2', 'n2:3'], ['n1:9', 'n1:11', 'n1:12']]);
  const a = plan.replay[0]?.events[0]?.body.value as Alert;
  assert.equal(a.HostName, 'host-n1');
  assert.equal(a.ClusterName, 'prod');
  assert.equal(a.Timestamp, 1_700_000_123n);
  assert.equal(a.UpdatedTime, '2023-11-14T22:15:23.000000Z');
  assert.equal(plan.undecodable, 0);
});

test('seqs below a space\'s oldest record count as acked; old records beyond the hub\'s size only rebuild dedup', () => {
  const records = [rec('n1', 100_001, 100_010), rec('n1', 100_011, 100_020), rec('n1', 100_021, 100_030)];
  const dedup = createDedupWindow({ window: 65_536 });
  const plan = planReplay(records, dedup, 15);
  assert.equal(dedup.acked('n1', 'b'), 100_030n, 'the enforcer\'s next batch is within the window');
  assert.ok(dedup.admit('n1', 'b', 100_031n, 100_040n).ok);
  assert.deepEqual(plan.dedupOnly, [records[0]?.lsn]);
  assert.deepEqual(plan.replay.map((r) => r.events.length), [10, 10]);
});

test('records recovered without their bytes only rebuild dedup', () => {
  const old = rec('n1', 1, 2, [1, 2], { raw: Buffer.alloc(0) });
  const cur = rec('n1', 3, 4);
  const dedup = createDedupWindow({ window: 65_536 });
  const plan = planReplay([old, cur], dedup, 100);
  assert.equal(dedup.acked('n1', 'b'), 4n);
  assert.deepEqual(plan.dedupOnly, [old.lsn]);
  assert.deepEqual(plan.replay.map((r) => r.lsn), [cur.lsn]);
  assert.equal(plan.undecodable, 0);
});

test('a record whose bytes do not decode as its batch is skipped and counted', () => {
  const good = rec('n1', 1, 2);
  const bad = rec('n1', 3, 4, [3, 4], { raw: Buffer.from([0xff, 0xff, 0xff]) });
  const other = rec('n1', 5, 6, [5, 6], { nodeId: 'n9' });
  const dedup = createDedupWindow({ window: 65_536 });
  const plan = planReplay([good, bad, other], dedup, 100);
  assert.equal(plan.undecodable, 2);
  assert.deepEqual(plan.replay.map((r) => r.lsn), [good.lsn]);
});

test('cursor map: an old cursor resumes at the first record after its newest mark; unknown epochs pass unchanged', () => {
  const mark = (l: bigint, head: number, epoch = 'aa'): MarkRecord => ({ type: TYPE_MARK, lsn: l, hubHead: head, epoch });
  const marks = [mark(2n, 20), mark(5n, 50), mark(7n, 75)];
  const points = [3n, 4n, 5n, 6n, 7n, 8n, 9n].map((l, i) => ({ lsn: l, headBefore: i * 10 }));
  const m = createCursorMap(marks, points, 70, 2n, 'cc');
  assert.equal(m.translate('aa:55'), 'cc:30', 'mark (5, 50): resume before record 6');
  assert.equal(m.translate('aa:80'), 'cc:50', 'mark (7, 75): resume before record 8');
  assert.equal(m.translate('aa:20'), 'cc:0', 'mark (2, 20): everything replayed');
  assert.equal(m.translate('aa:10'), 'aa:10', 'before every mark: unchanged (OUT_OF_RANGE from the hub)');
  assert.equal(m.translate('bb:99'), 'bb:99', 'unknown epoch');
  assert.equal(m.translate('cc:5'), 'cc:5', 'current epoch');
  const trimmed = createCursorMap(marks, points, 70, 6n, 'cc');
  assert.equal(trimmed.translate('aa:55'), 'aa:55', 'records after the mark are no longer replayed');
});
