// Decodes OTLP JSON (as the Collector's file exporter writes it: one
// Export{Logs,Metrics,Trace}ServiceRequest per line) into flat, typed records.
//
// Invariants:
// - Values keep their OTLP kind: an int attribute is { kind: 'int', value: bigint },
//   never a JS number, so a test can tell 42 (int) from 42.0 (double).
// - int64 fields arrive as decimal strings (proto3 JSON mapping) and stay strings for
//   timestamps; counts and int values become bigint.
// - Malformed input throws an Error naming the field; absent fields take the proto3
//   default (empty string, 0, empty attributes), as the JSON mapping omits defaults.

export type OtlpValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Buffer }
  | { readonly kind: 'array'; readonly value: readonly OtlpValue[] }
  | { readonly kind: 'kvlist'; readonly value: Attributes }
  | { readonly kind: 'empty' };

export type Attributes = Readonly<Record<string, OtlpValue>>;

export type Scope = { readonly name: string; readonly version: string };

export type LogRecordOut = {
  readonly resource: Attributes;
  readonly scope: Scope;
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: OtlpValue;
  readonly attributes: Attributes;
  readonly traceId: string;
  readonly spanId: string;
};

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';

export type MetricPointOut = {
  readonly resource: Attributes;
  readonly scope: Scope;
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly type: MetricType;
  /** Only for sums. */
  readonly isMonotonic: boolean;
  /** 1 = delta, 2 = cumulative, 0 = unspecified (gauges, summaries). */
  readonly aggregationTemporality: number;
  readonly attributes: Attributes;
  readonly startTimeUnixNano: string;
  readonly timeUnixNano: string;
  /** The number value of gauge and sum points; undefined for the others. */
  readonly value: Extract<OtlpValue, { kind: 'int' } | { kind: 'double' }> | undefined;
  /** count and sum of histogram and summary points; undefined for the others. */
  readonly count: bigint | undefined;
  readonly sum: number | undefined;
};

export type SpanOut = {
  readonly resource: Attributes;
  readonly scope: Scope;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: Attributes;
  readonly statusCode: number;
  readonly statusMessage: string;
};

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (v === undefined) return {};
  if (!isObj(v)) throw new Error(`${where}.${key}: expected an object`);
  return v;
}

function list(o: Obj, key: string, where: string): readonly Obj[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isObj)) throw new Error(`${where}.${key}: expected an array of objects`);
  return v;
}

function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new Error(`${where}.${key}: expected a string`);
  return v;
}

function num(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (v === undefined) return 0;
  if (typeof v !== 'number') throw new Error(`${where}.${key}: expected a number`);
  return v;
}

/** int64 in proto3 JSON: a decimal string (numbers are accepted too). */
function int64(v: unknown, where: string): bigint {
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new Error(`${where}: expected an int64, got ${JSON.stringify(v)}`);
}

/** double in proto3 JSON: a number, or "NaN" / "Infinity" / "-Infinity". */
function double(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new Error(`${where}: expected a double, got ${JSON.stringify(v)}`);
}

export function decodeValue(v: unknown, where: string): OtlpValue {
  if (!isObj(v)) throw new Error(`${where}: expected an AnyValue object`);
  if ('stringValue' in v) return { kind: 'string', value: str(v, 'stringValue', where) };
  if ('boolValue' in v) {
    if (typeof v.boolValue !== 'boolean') throw new Error(`${where}.boolValue: expected a boolean`);
    return { kind: 'bool', value: v.boolValue };
  }
  if ('intValue' in v) return { kind: 'int', value: int64(v.intValue, `${where}.intValue`) };
  if ('doubleValue' in v) return { kind: 'double', value: double(v.doubleValue, `${where}.doubleValue`) };
  if ('bytesValue' in v) return { kind: 'bytes', value: Buffer.from(str(v, 'bytesValue', where), 'base64') };
  if ('arrayValue' in v) {
    const values = list(obj(v, 'arrayValue', where), 'values', `${where}.arrayValue`);
    return { kind: 'array', value: values.map((x, i) => decodeValue(x, `${where}.arrayValue.values[${i}]`)) };
  }
  if ('kvlistValue' in v) {
    return { kind: 'kvlist', value: decodeAttributes(obj(v, 'kvlistValue', where), 'values', `${where}.kvlistValue`) };
  }
  return { kind: 'empty' };
}

/** Decodes a KeyValue list (o[key]) into a record; a later duplicate key wins. */
export function decodeAttributes(o: Obj, key: string, where: string): Attributes {
  const out: Record<string, OtlpValue> = {};
  list(o, key, where).forEach((kv, i) => {
    const at = `${where}.${key}[${i}]`;
    out[str(kv, 'key', at)] = kv.value === undefined ? { kind: 'empty' } : decodeValue(kv.value, `${at}.value`);
  });
  return out;
}

function decodeScope(o: Obj, where: string): Scope {
  const s = obj(o, 'scope', where);
  return { name: str(s, 'name', `${where}.scope`), version: str(s, 'version', `${where}.scope`) };
}

/** Walks resource -> scope -> item, the shape shared by all three signals. */
function walk<T>(
  request: unknown, resourceKey: string, scopeKey: string, itemKey: string, where: string,
  make: (item: Obj, resource: Attributes, scope: Scope, at: string) => readonly T[],
): T[] {
  if (!isObj(request)) throw new Error(`${where}: expected an export request object`);
  const out: T[] = [];
  list(request, resourceKey, where).forEach((rs, i) => {
    const atR = `${where}.${resourceKey}[${i}]`;
    const resource = decodeAttributes(obj(rs, 'resource', atR), 'attributes', `${atR}.resource`);
    list(rs, scopeKey, atR).forEach((ss, j) => {
      const atS = `${atR}.${scopeKey}[${j}]`;
      const scope = decodeScope(ss, atS);
      list(ss, itemKey, atS).forEach((item, k) => out.push(...make(item, resource, scope, `${atS}.${itemKey}[${k}]`)));
    });
  });
  return out;
}

export function decodeLogsRequest(request: unknown, where: string): LogRecordOut[] {
  return walk(request, 'resourceLogs', 'scopeLogs', 'logRecords', where, (r, resource, scope, at) => [{
    resource,
    scope,
    timeUnixNano: str(r, 'timeUnixNano', at),
    observedTimeUnixNano: str(r, 'observedTimeUnixNano', at),
    severityNumber: num(r, 'severityNumber', at),
    severityText: str(r, 'severityText', at),
    body: r.body === undefined ? { kind: 'empty' } : decodeValue(r.body, `${at}.body`),
    attributes: decodeAttributes(r, 'attributes', at),
    traceId: str(r, 'traceId', at),
    spanId: str(r, 'spanId', at),
  }]);
}

const METRIC_TYPES: readonly MetricType[] = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

export function decodeMetricsRequest(request: unknown, where: string): MetricPointOut[] {
  return walk(request, 'resourceMetrics', 'scopeMetrics', 'metrics', where, (m, resource, scope, at) => {
    const type = METRIC_TYPES.find((t) => isObj(m[t]));
    if (type === undefined) return []; // a metric with no data (proto3 "empty")
    const data = obj(m, type, at);
    return list(data, 'dataPoints', `${at}.${type}`).map((p, i): MetricPointOut => {
      const atP = `${at}.${type}.dataPoints[${i}]`;
      let value: MetricPointOut['value'];
      if (p.asInt !== undefined) value = { kind: 'int', value: int64(p.asInt, `${atP}.asInt`) };
      else if (p.asDouble !== undefined) value = { kind: 'double', value: double(p.asDouble, `${atP}.asDouble`) };
      return {
        resource,
        scope,
        name: str(m, 'name', at),
        description: str(m, 'description', at),
        unit: str(m, 'unit', at),
        type,
        isMonotonic: data.isMonotonic === true,
        aggregationTemporality: num(data, 'aggregationTemporality', `${at}.${type}`),
        attributes: decodeAttributes(p, 'attributes', atP),
        startTimeUnixNano: str(p, 'startTimeUnixNano', atP),
        timeUnixNano: str(p, 'timeUnixNano', atP),
        value,
        count: p.count === undefined ? undefined : int64(p.count, `${atP}.count`),
        sum: p.sum === undefined ? undefined : double(p.sum, `${atP}.sum`),
      };
    });
  });
}

export function decodeTracesRequest(request: unknown, where: string): SpanOut[] {
  return walk(request, 'resourceSpans', 'scopeSpans', 'spans', where, (s, resource, scope, at) => {
    const status = obj(s, 'status', at);
    return [{
      resource,
      scope,
      traceId: str(s, 'traceId', at),
      spanId: str(s, 'spanId', at),
      parentSpanId: str(s, 'parentSpanId', at),
      name: str(s, 'name', at),
      kind: num(s, 'kind', at),
      startTimeUnixNano: str(s, 'startTimeUnixNano', at),
      endTimeUnixNano: str(s, 'endTimeUnixNano', at),
      attributes: decodeAttributes(s, 'attributes', at),
      statusCode: num(status, 'code', `${at}.status`),
      statusMessage: str(status, 'message', `${at}.status`),
    }];
  });
}
