// Every generated message survives encode -> decode and toJSON -> fromJSON with
// every field set to a non-default value; a known hand-computed Alert encoding
// decodes to the expected fields (so a wrong field number cannot pass).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as feeder from '../../../proto/gen/feeder/kubearmor.js';
import * as health from '../../../proto/gen/grpc/health/v1/health.js';
import * as event from '../../../proto/gen/palisade/v1/event.js';
import * as ingest from '../../../proto/gen/palisade/v1/ingest.js';
import * as policy from '../../../proto/gen/palisade/v1/policy.js';
import * as watch from '../../../proto/gen/palisade/v1/watch.js';
import { assertEveryFieldSet, feederSamples, healthSamples, messageCodecNames, palisadeSamples, type SampleSet } from './samples.js';

const modules: Record<string, Record<string, unknown>> = { feeder, health, event, ingest, policy, watch };

describe('proto samples cover every generated message', () => {
  test('each generated message type has samples', () => {
    const generated = Object.values(modules).flatMap((m) => messageCodecNames(m)).sort();
    const sampled = [...feederSamples, ...healthSamples, ...palisadeSamples].map((s) => s.name).sort();
    assert.deepEqual(sampled, generated);
    assert.equal(generated.length, 8 + 2 + 1 + 7 + 9 + 2);
  });
});

function roundTrips(sets: readonly SampleSet[]): void {
  for (const { name, codec, samples } of sets) {
    samples.forEach((sample, i) => {
      test(`${name} #${i}: every field set, binary and JSON round trip`, () => {
        assertEveryFieldSet(name, codec, sample);
        const bytes = codec.encode(sample as never).finish();
        assert.ok(bytes.length > 0);
        const decoded = codec.decode(bytes) as Record<string, unknown>;
        const expected = sample as Record<string, unknown>;
        for (const key of Object.keys(expected)) {
          assert.deepStrictEqual(decoded[key], expected[key], `${name}.${key}`);
        }
        assert.deepStrictEqual(decoded, expected);
        // Re-encoding the decoded message gives the same bytes (no field lost or reordered).
        assert.deepStrictEqual(codec.encode(decoded as never).finish(), bytes);
        const json = JSON.parse(JSON.stringify(codec.toJSON(sample as never))) as unknown;
        assert.deepStrictEqual(codec.fromJSON(json), expected, `${name} JSON`);
      });
    });
  }
}

describe('feeder round trip', () => roundTrips(feederSamples));
describe('grpc.health.v1 round trip', () => roundTrips(healthSamples));
describe('palisade.v1 round trip', () => roundTrips(palisadeSamples));

describe('grpc.health.v1 known encoding', () => {
  test('Check request and SERVING response bytes', () => {
    assert.deepEqual([...health.HealthCheckRequest.encode({ service: 'x' }).finish()], [0x0a, 0x01, 0x78]);
    assert.deepEqual([...health.HealthCheckResponse.encode({ status: health.HealthCheckResponse_ServingStatus.SERVING }).finish()], [0x08, 0x01]);
    assert.equal(health.HealthCheckResponse.decode(Uint8Array.from([0x08, 0x03])).status, health.HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN);
    assert.equal(health.HealthService.check.path, '/grpc.health.v1.Health/Check');
    assert.equal(health.HealthService.watch.path, '/grpc.health.v1.Health/Watch');
  });
});

describe('feeder.Alert known encoding', () => {
  // Hand-computed from KubeArmor's field numbers: key = (number << 3) | wire type.
  const enc = (s: string): number[] => [...new TextEncoder().encode(s)];
  const bytes = Uint8Array.from([
    0x08, 0x96, 0x01, //                         1 Timestamp varint 150
    0x2a, 0x03, ...enc('web'), //                5 NamespaceName
    0xfa, 0x01, 0x05, 0x0a, 0x03, ...enc('Dep'), // 31 Owner { 1 Ref }
    0xd8, 0x01, 0x2a, //                         27 HostPPID 42
    0x48, 0x07, //                               9 HostPID 7
    0x60, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // 12 UID -10
    0xf2, 0x01, 0x02, ...enc('MI'), //           30 ATags[0]
    0xf2, 0x01, 0x01, ...enc('X'), //            30 ATags[1]
    0xe2, 0x01, 0x01, ...enc('F'), //            28 Enforcer
    0x90, 0x02, 0x0a, //                         34 MaxAlertsPerSec 10
    0xa2, 0x02, 0x04, 0x12, 0x02, ...enc('sh'), // 36 ExecEvent { 2 ExecutableName }
    0xaa, 0x02, 0x03, ...enc('0.1'), //          37 KubeArmorVersion
    0x8a, 0x01, 0x03, ...enc('cat'), //          17 Type
  ]);

  test('decodes to the expected fields', () => {
    const a = feeder.Alert.decode(bytes);
    assert.equal(a.Timestamp, 150n);
    assert.equal(a.NamespaceName, 'web');
    assert.deepEqual(a.Owner, { Ref: 'Dep', Name: '', Namespace: '' });
    assert.equal(a.HostPPID, 42);
    assert.equal(a.HostPID, 7);
    assert.equal(a.UID, -10);
    assert.deepEqual(a.ATags, ['MI', 'X']);
    assert.equal(a.Enforcer, 'F');
    assert.equal(a.MaxAlertsPerSec, 10);
    assert.deepEqual(a.ExecEvent, { ExecID: '', ExecutableName: 'sh' });
    assert.equal(a.KubeArmorVersion, '0.1');
    assert.equal(a.Type, 'cat');
    // Everything else stays at its default.
    assert.equal(a.PodName, '');
    assert.equal(a.PID, 0);
    assert.equal(a.DroppingAlertsInterval, 0);
  });

  test('encodes a one-field Alert to the hand-computed bytes', () => {
    const a = feeder.Alert.create({ Labels: 'a=b' }); // 29 << 3 | 2 = 234 -> 0xea 0x01
    assert.deepEqual([...feeder.Alert.encode(a).finish()], [0xea, 0x01, 0x03, ...enc('a=b')]);
    const b = feeder.Alert.create({ DroppingAlertsInterval: 300 }); // 35 << 3 = 280 -> 0x98 0x02; 300 -> 0xac 0x02
    assert.deepEqual([...feeder.Alert.encode(b).finish()], [0x98, 0x02, 0xac, 0x02]);
  });
});
