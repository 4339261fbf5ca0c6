// relay/serve/alert-encode.ts must produce exactly the bytes of the generated
// Alert.encode, for alerts that use every field (defaults, non-ASCII and long
// strings, lone surrogates, negative int32, large and negative int64, nested
// Owner/ExecEvent, repeated ATags), and decode back to the same Alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { encodeAlert } from '../../../relay/serve/alert-encode.js';
import { seededRandom } from '../../support/prng.js';
import { randomAlert as randomAlertOf } from '../../support/random-alert.js';

const next = seededRandom(12345);
const randomAlert = (): Alert => randomAlertOf(next, {
  pieces: ['', 'a', 'é', '日本', '😀', '\ud800', 'x'.repeat(42), 'y'.repeat(43), 'z'.repeat(200), 'ü'.repeat(60), 'w'.repeat(20000)],
  timestamps: [0n, 1n, 1_700_000_000n, -5n, 9223372036854775807n, -9223372036854775808n],
});

test('encodeAlert gives the bytes of Alert.encode', () => {
  const fields = Object.keys(Alert.create()).sort();
  // the encoder lists the fields by hand: a new proto field must be added to it
  assert.deepEqual(fields, ['ATags', 'Action', 'ClusterName', 'ContainerID', 'ContainerImage', 'ContainerName', 'Cwd', 'Data', 'DroppingAlertsInterval', 'Enforcer', 'ExecEvent', 'HostName', 'HostPID', 'HostPPID', 'KubeArmorVersion', 'Labels', 'MaxAlertsPerSec', 'Message', 'NamespaceName', 'Operation', 'Owner', 'PID', 'PPID', 'ParentProcessName', 'PodName', 'PolicyName', 'ProcessName', 'Resource', 'Result', 'Severity', 'Source', 'TTY', 'Tags', 'Timestamp', 'Type', 'UID', 'UpdatedTime']);
  assert.deepEqual(encodeAlert(Alert.create()), Buffer.alloc(0));
  for (let i = 0; i < 2000; i++) {
    const a = randomAlert();
    const want = Buffer.from(Alert.encode(a).finish());
    const got = encodeAlert(a);
    assert.ok(got.equals(want), `alert ${i} differs: ${JSON.stringify(Alert.toJSON(a)).slice(0, 300)}`);
  }
});

test('a long nested Owner (length > 127) and a large alert round-trip', () => {
  const a = Alert.create({ Owner: { Ref: 'Deployment', Name: 'n'.repeat(300), Namespace: 'é'.repeat(100) }, Data: 'd'.repeat(100_000), ExecEvent: { ExecID: 'e'.repeat(130), ExecutableName: '' } });
  const got = encodeAlert(a);
  assert.ok(got.equals(Buffer.from(Alert.encode(a).finish())));
  assert.deepEqual(Alert.decode(got), a);
});

test('the per-container identity block is reused only while the identity fields are unchanged', () => {
  // few container ids, identity fields drawn from small sets: the cache is hit, and
  // missed whenever any of the 7 fields (or the Owner's 3) differs from the cached alert's
  const next = seededRandom(7); // a sequence of its own, beside the alerts'
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  for (let i = 0; i < 5000; i++) {
    const a = randomAlert();
    a.ContainerID = pick(['', 'c1', 'c2', 'd'.repeat(64)]);
    a.NamespaceName = pick(['ns-a', 'ns-b', '']);
    a.PodName = pick(['p1', 'p2']);
    a.Labels = pick(['a=b', 'a=b,c=d', '']);
    a.ContainerName = pick(['web', 'sidecar']);
    a.ContainerImage = pick(['img:1', 'img:2@sha256:ab', '']);
    a.Owner = pick([undefined, { Ref: 'Deployment', Name: 'd1', Namespace: 'ns-a' }, { Ref: 'Deployment', Name: 'd2', Namespace: 'ns-a' }, { Ref: 'Deployment', Name: 'd1', Namespace: 'ns-b' }, { Ref: '', Name: '', Namespace: '' }]);
    const got = encodeAlert(a);
    assert.ok(got.equals(Buffer.from(Alert.encode(a).finish())), `alert ${i} differs: ${JSON.stringify({ cid: a.ContainerID, ns: a.NamespaceName, owner: a.Owner, pod: a.PodName, labels: a.Labels })}`);
  }
});
