// Integration: the OpenTelemetry JS SDK exports to the real test Collector
// (test/infra/otelcol, started by `bash test/infra/services.sh start otelcol`), and
// what the Collector's file exporter wrote is read back and checked field by field.
// Every record carries a unique id attribute, so only this run's data can match.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor, LoggerProvider,
  type LogRecordExporter, type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import {
  COLLECTOR_OTLP_GRPC, COLLECTOR_OTLP_HTTP, collectorReady, openCollectorOutput,
} from './collector-output.js';
import type { LogRecordOut } from './otlp-json.js';

/** Passes exports through and keeps their results, which the SDK's processors only log. */
class RecordingExporter implements LogRecordExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(records, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** A reader that collects only when asked, so the test decides when metrics are exported. */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function assertExported(results: readonly ExportResult[], via: string): void {
  assert.ok(results.length > 0, `${via}: nothing was exported`);
  for (const r of results) {
    assert.equal(r.code, ExportResultCode.SUCCESS, `${via}: export failed: ${r.error?.message ?? 'no error given'}`);
  }
}

/** Emits one log record through a real SDK pipeline and returns its unique id. */
async function emitLog(exporter: LogRecordExporter, via: string): Promise<string> {
  const id = randomUUID();
  const recording = new RecordingExporter(exporter);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'palisade-otel-test', 'palisade.test.via': via }),
    processors: [new BatchLogRecordProcessor({ exporter: recording })],
  });
  try {
    provider.getLogger('palisade.test', '1.2.3').emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: `palisade otel test via ${via}`,
      attributes: {
        'test.id': id,
        'test.count': 42,
        'test.ratio': 2.5,
        'test.flag': true,
        'test.name': 'nginx',
      },
    });
    await provider.forceFlush();
    assertExported(recording.results, via);
  } finally {
    await provider.shutdown();
  }
  return id;
}

function assertLogRecord(rec: LogRecordOut, id: string, via: string): void {
  assert.deepEqual(rec.body, { kind: 'string', value: `palisade otel test via ${via}` });
  assert.equal(rec.severityNumber, SeverityNumber.WARN);
  assert.equal(rec.severityText, 'WARN');
  assert.deepEqual(rec.attributes, {
    'test.id': { kind: 'string', value: id },
    'test.count': { kind: 'int', value: 42n },
    'test.ratio': { kind: 'double', value: 2.5 },
    'test.flag': { kind: 'bool', value: true },
    'test.name': { kind: 'string', value: 'nginx' },
  });
  assert.deepEqual(rec.resource['service.name'], { kind: 'string', value: 'palisade-otel-test' });
  assert.deepEqual(rec.resource['palisade.test.via'], { kind: 'string', value: via });
  assert.deepEqual(rec.scope, { name: 'palisade.test', version: '1.2.3' });
  assert.match(rec.timeUnixNano, /^[1-9]\d{18}$/, 'timeUnixNano is a nanosecond timestamp');
}

describe('OpenTelemetry Collector (real, test/infra/otelcol)', () => {
  before(async () => {
    assert.ok(await collectorReady(),
      `no test Collector answers on ${COLLECTOR_OTLP_HTTP}; start it with: bash test/infra/services.sh start otelcol`);
  });

  it('receives a log record over OTLP/gRPC and writes it with body, severity and typed attributes', async () => {
    const logs = await openCollectorOutput('logs');
    const id = await emitLog(new GrpcLogExporter({ url: COLLECTOR_OTLP_GRPC }), 'grpc');
    const rec = await logs.waitFor((r) => r.attributes['test.id']?.kind === 'string' && r.attributes['test.id'].value === id,
      {}, `log record test.id=${id}`);
    assertLogRecord(rec, id, 'grpc');
  });

  it('receives a log record over OTLP/HTTP', async () => {
    const logs = await openCollectorOutput('logs');
    const id = await emitLog(new HttpLogExporter({ url: `${COLLECTOR_OTLP_HTTP}/v1/logs` }), 'http');
    const rec = await logs.waitFor((r) => r.attributes['test.id']?.kind === 'string' && r.attributes['test.id'].value === id,
      {}, `log record test.id=${id}`);
    assertLogRecord(rec, id, 'http');
  });

  it('receives a counter over OTLP/gRPC and writes it as a monotonic cumulative sum', async () => {
    const metrics = await openCollectorOutput('metrics');
    const id = randomUUID();
    const reader = new ManualReader();
    const exporter = new GrpcMetricExporter({ url: COLLECTOR_OTLP_GRPC });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'palisade-otel-test' }),
      readers: [reader],
    });
    try {
      const counter = provider.getMeter('palisade.test').createCounter('palisade_test_events_total', {
        description: 'events seen by the otel integration test', unit: '{event}',
      });
      counter.add(3, { 'test.id': id, 'test.kind': 'alert' });
      counter.add(4, { 'test.id': id, 'test.kind': 'alert' });
      const { resourceMetrics, errors } = await reader.collect();
      assert.deepEqual(errors, []);
      const result = await new Promise<ExportResult>((resolve) => exporter.export(resourceMetrics, resolve));
      assertExported([result], 'metrics grpc');
    } finally {
      await provider.shutdown();
      await exporter.shutdown();
    }
    const point = await metrics.waitFor((p) => p.name === 'palisade_test_events_total'
      && p.attributes['test.id']?.kind === 'string' && p.attributes['test.id'].value === id, {}, `metric point test.id=${id}`);
    assert.equal(point.type, 'sum');
    assert.equal(point.isMonotonic, true);
    assert.equal(point.aggregationTemporality, 2, 'cumulative');
    assert.deepEqual(point.value, { kind: 'double', value: 7 });
    assert.equal(point.unit, '{event}');
    assert.equal(point.description, 'events seen by the otel integration test');
    assert.deepEqual(point.attributes['test.kind'], { kind: 'string', value: 'alert' });
    assert.deepEqual(point.resource['service.name'], { kind: 'string', value: 'palisade-otel-test' });
  });

  it('receives a span posted as OTLP/HTTP JSON', async () => {
    const traces = await openCollectorOutput('traces');
    const traceId = randomUUID().replaceAll('-', '');
    const spanId = traceId.slice(0, 16);
    const now = BigInt(Date.now()) * 1_000_000n;
    const res = await fetch(`${COLLECTOR_OTLP_HTTP}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'palisade-otel-test' } }] },
          scopeSpans: [{
            scope: { name: 'palisade.test' },
            spans: [{
              traceId, spanId, name: 'policy.match', kind: 1,
              startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1000n),
              attributes: [{ key: 'test.pid', value: { intValue: '4242' } }],
            }],
          }],
        }],
      }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200, await res.text());
    const span = await traces.waitFor((s) => s.traceId === traceId, {}, `span traceId=${traceId}`);
    assert.equal(span.spanId, spanId);
    assert.equal(span.name, 'policy.match');
    assert.equal(span.endTimeUnixNano, String(now + 1000n));
    assert.deepEqual(span.attributes, { 'test.pid': { kind: 'int', value: 4242n } });
  });

  it('does not report a record that was never sent', async () => {
    const logs = await openCollectorOutput('logs', { fromStart: true });
    const missing = randomUUID();
    const result = await logs.find((r) => r.attributes['test.id']?.kind === 'string' && r.attributes['test.id'].value === missing,
      { timeoutMs: 300, intervalMs: 100 });
    assert.equal(result.ok, false);
    await assert.rejects(logs.waitFor(() => false, { timeoutMs: 0 }, 'nothing'), /did not appear/);
  });
});
