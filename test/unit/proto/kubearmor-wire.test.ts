// feeder is wire-compatible with KubeArmor: checked against the published field
// table (kubearmor-reference.ts) with an encoder/decoder independent of the
// generated code, in both directions, plus the service's method paths.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as feeder from '../../../proto/gen/feeder/kubearmor.js';
import { KUBEARMOR_FEEDER, KUBEARMOR_LOG_SERVICE, type FieldSpec } from './kubearmor-reference.js';
import { feederSamples, type Codec } from './samples.js';
import { lengthDelimited, readFields, stringField, varintField } from './wire.js';

const codecs = feeder as unknown as Record<string, Codec<never>>;
const samplesByName = new Map(feederSamples.map((s) => [s.name, s.samples[0] as Record<string, unknown>]));

/** Encodes `value` by the reference table alone (fields in number order, unlike the generated code). */
function referenceEncode(messageName: string, value: Record<string, unknown>): number[] {
  const spec = [...(KUBEARMOR_FEEDER[messageName] ?? [])].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [num, name, type] of spec) {
    const v = value[name];
    if (type === 'int32') out.push(...varintField(num, BigInt(v as number)));
    else if (type === 'int64') out.push(...varintField(num, v as bigint));
    else if (type === 'string') out.push(...stringField(num, v as string));
    else if (type === 'repeated string') for (const s of v as string[]) out.push(...stringField(num, s));
    else out.push(...lengthDelimited(num, referenceEncode(type.message, v as Record<string, unknown>)));
  }
  return out;
}

/** Checks a generated encoding field by field against the reference table. */
function referenceCheck(messageName: string, bytes: Uint8Array, value: Record<string, unknown>): void {
  const spec: readonly FieldSpec[] = KUBEARMOR_FEEDER[messageName] ?? [];
  const fields = readFields(bytes);
  const known = new Set(spec.map(([num]) => num));
  for (const f of fields) assert.ok(known.has(f.field), `${messageName}: unexpected field number ${f.field} on the wire`);
  for (const [num, name, type] of spec) {
    const found = fields.filter((f) => f.field === num);
    const where = `${messageName}.${name} (${num})`;
    const v = value[name];
    if (type === 'repeated string') {
      assert.deepEqual(found.map((f) => new TextDecoder().decode(f.bytes)), v, where);
      continue;
    }
    assert.equal(found.length, 1, `${where}: expected once on the wire`);
    const f = found[0]!;
    if (type === 'int32' || type === 'int64') {
      assert.equal(f.wireType, 0, `${where}: wire type`);
      assert.equal(BigInt.asIntN(64, f.varint), BigInt(v as number | bigint), where);
    } else if (type === 'string') {
      assert.equal(f.wireType, 2, `${where}: wire type`);
      assert.equal(new TextDecoder().decode(f.bytes), v, where);
    } else {
      assert.equal(f.wireType, 2, `${where}: wire type`);
      referenceCheck(type.message, f.bytes, v as Record<string, unknown>);
    }
  }
}

describe('feeder matches the KubeArmor field table', () => {
  test('the table and the generated code name the same messages and fields', () => {
    for (const [name, spec] of Object.entries(KUBEARMOR_FEEDER)) {
      const codec = codecs[name];
      assert.ok(codec !== undefined, `feeder.${name} is generated`);
      assert.deepEqual(Object.keys(codec.create() as object).sort(), spec.map(([, n]) => n).sort(), `feeder.${name} fields`);
      assert.equal(new Set(spec.map(([num]) => num)).size, spec.length, `${name}: duplicate number in the table`);
    }
  });

  for (const name of Object.keys(KUBEARMOR_FEEDER)) {
    test(`${name}: generated encoding has the reference numbers and types`, () => {
      const sample = samplesByName.get(name);
      assert.ok(sample !== undefined);
      const bytes = codecs[name]!.encode(sample as never).finish();
      referenceCheck(name, bytes, sample);
    });
    test(`${name}: reference encoding decodes to the same message`, () => {
      const sample = samplesByName.get(name);
      assert.ok(sample !== undefined);
      const bytes = Uint8Array.from(referenceEncode(name, sample));
      assert.deepStrictEqual(codecs[name]!.decode(bytes), sample);
    });
  }

  test('LogService methods have KubeArmor paths, types and streaming', () => {
    const service = feeder.LogServiceService as unknown as Record<string, { path: string; requestStream: boolean; responseStream: boolean; responseDeserialize: (b: Buffer) => unknown; requestDeserialize: (b: Buffer) => unknown }>;
    const byPath = new Map(Object.values(service).map((m) => [m.path, m]));
    assert.equal(byPath.size, Object.keys(KUBEARMOR_LOG_SERVICE).length);
    for (const [rpc, [req, res, streaming]] of Object.entries(KUBEARMOR_LOG_SERVICE)) {
      const m = byPath.get(`/feeder.LogService/${rpc}`);
      assert.ok(m !== undefined, `rpc ${rpc}`);
      assert.equal(m.requestStream, false, `${rpc} request stream`);
      assert.equal(m.responseStream, streaming, `${rpc} response stream`);
      // The (de)serializers are the right message types: decode a sample of each.
      const reqSample = samplesByName.get(req)!;
      const resSample = samplesByName.get(res)!;
      assert.deepStrictEqual(m.requestDeserialize(Buffer.from(referenceEncode(req, reqSample))), reqSample, `${rpc} request type`);
      assert.deepStrictEqual(m.responseDeserialize(Buffer.from(referenceEncode(res, resSample))), resSample, `${rpc} response type`);
    }
  });
});
