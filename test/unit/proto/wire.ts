// A tiny, independent protobuf wire reader/writer for tests: it knows nothing of
// the generated code, so encodings checked with it pin field numbers and types.
// Only varint (wire type 0) and length-delimited (wire type 2) are needed here.

export type WireField = { readonly field: number; readonly wireType: 0 | 2; readonly varint: bigint; readonly bytes: Uint8Array };

export function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value); // negative int32/int64 -> 10-byte two's complement
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

export function tag(field: number, wireType: 0 | 2): number[] {
  return varint(BigInt((field << 3) | wireType));
}

export function lengthDelimited(field: number, payload: Uint8Array | number[]): number[] {
  return [...tag(field, 2), ...varint(BigInt(payload.length)), ...payload];
}

export function stringField(field: number, text: string): number[] {
  return lengthDelimited(field, [...new TextEncoder().encode(text)]);
}

export function varintField(field: number, value: bigint): number[] {
  return [...tag(field, 0), ...varint(value)];
}

/** Splits an encoding into its top-level fields, in wire order. Throws on anything malformed. */
export function readFields(buf: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error(`truncated varint at ${pos}`);
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wireType = key & 7;
    if (wireType === 0) {
      fields.push({ field, wireType, varint: readVarint(), bytes: new Uint8Array() });
    } else if (wireType === 2) {
      const len = Number(readVarint());
      if (pos + len > buf.length) throw new Error(`field ${field}: length ${len} past end`);
      fields.push({ field, wireType, varint: 0n, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else {
      throw new Error(`field ${field}: unexpected wire type ${wireType}`);
    }
  }
  return fields;
}
