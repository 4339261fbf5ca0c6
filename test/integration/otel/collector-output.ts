// Reads what the test OpenTelemetry Collector (test/infra/otelcol) wrote: its file
// exporter appends one OTLP JSON export request per line to
// $PALISADE_TEST_TMP/otelcol/{logs,metrics,traces}.jsonl.
//
// Invariants:
// - A reader only sees lines appended after it was opened (unless fromStart), so
//   records of earlier runs never match; it only consumes complete lines (a line
//   still being written is read on a later poll).
// - If the file shrinks (deleted or truncated), the reader starts again at 0.
// - Every wait is bounded both in polls and in time; a miss is reported as a value
//   (find) or as an Error saying how many items were scanned (waitFor). These
//   bounds guard against hangs; they are not performance assertions.
// - A line that is not valid OTLP JSON throws, naming the file and line.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeLogsRequest, decodeMetricsRequest, decodeTracesRequest,
  type LogRecordOut, type MetricPointOut, type SpanOut,
} from './otlp-json.js';

export type CollectorSignal = 'logs' | 'metrics' | 'traces';

type ItemOf = { logs: LogRecordOut; metrics: MetricPointOut; traces: SpanOut };

const DECODERS: { [S in CollectorSignal]: (request: unknown, where: string) => ItemOf[S][] } = {
  logs: decodeLogsRequest,
  metrics: decodeMetricsRequest,
  traces: decodeTracesRequest,
};

/** The OTLP endpoints of the test Collector (loopback only). */
export const COLLECTOR_OTLP_GRPC = 'http://127.0.0.1:14317';
export const COLLECTOR_OTLP_HTTP = 'http://127.0.0.1:14318';

export function collectorOutputDir(): string {
  return join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', 'otelcol');
}

export function collectorOutputFile(signal: CollectorSignal): string {
  return join(collectorOutputDir(), `${signal}.jsonl`);
}

export type WaitOptions = {
  /** Upper bound on the whole wait (default 20 000 ms). */
  readonly timeoutMs?: number;
  /** Pause between polls (default 100 ms). */
  readonly intervalMs?: number;
};

export type FindResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly scanned: number };

export interface CollectorOutputReader<T> {
  readonly file: string;
  /** Reads the complete lines appended since the last poll and returns their items. */
  poll(): Promise<readonly T[]>;
  /** Every item read so far by this reader. */
  seen(): readonly T[];
  /** Polls (bounded) until an item matches. */
  find(match: (item: T) => boolean, options?: WaitOptions): Promise<FindResult<T>>;
  /** Like find, but throws when nothing matched within the bounds. */
  waitFor(match: (item: T) => boolean, options?: WaitOptions, what?: string): Promise<T>;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

class FileReader<S extends CollectorSignal> implements CollectorOutputReader<ItemOf[S]> {
  private offset: number;
  private lineNo = 0;
  private readonly items: ItemOf[S][] = [];

  constructor(readonly file: string, private readonly signal: S, start: number) {
    this.offset = start;
  }

  seen(): readonly ItemOf[S][] {
    return this.items;
  }

  async poll(): Promise<readonly ItemOf[S][]> {
    const size = await sizeOf(this.file);
    if (size < this.offset) {
      this.offset = 0;
      this.lineNo = 0;
    }
    if (size === this.offset) return [];
    const handle = await open(this.file, 'r');
    let chunk: Buffer;
    try {
      chunk = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
      chunk = chunk.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) return []; // no complete line yet
    this.offset += end + 1;
    const fresh: ItemOf[S][] = [];
    for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
      this.lineNo += 1;
      if (line.trim() === '') continue;
      const where = `${this.file} (line ${this.lineNo} after the reader's start)`;
      let request: unknown;
      try {
        request = JSON.parse(line);
      } catch (err) {
        throw new Error(`${where}: not JSON: ${(err as Error).message}`, { cause: err });
      }
      fresh.push(...DECODERS[this.signal](request, where));
    }
    this.items.push(...fresh);
    return fresh;
  }

  async find(match: (item: ItemOf[S]) => boolean, options: WaitOptions = {}): Promise<FindResult<ItemOf[S]>> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const intervalMs = Math.max(10, options.intervalMs ?? 100);
    const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
    const deadline = Date.now() + timeoutMs;
    const earlier = this.items.find(match);
    if (earlier !== undefined) return { ok: true, value: earlier };
    for (let i = 0; i < maxPolls; i++) {
      const hit = (await this.poll()).find(match);
      if (hit !== undefined) return { ok: true, value: hit };
      if (Date.now() >= deadline) break;
      await sleep(intervalMs);
    }
    return { ok: false, scanned: this.items.length };
  }

  async waitFor(match: (item: ItemOf[S]) => boolean, options: WaitOptions = {}, what = 'a matching item'): Promise<ItemOf[S]> {
    const result = await this.find(match, options);
    if (result.ok) return result.value;
    throw new Error(`collector output: ${what} did not appear in ${this.file} within ` +
      `${options.timeoutMs ?? 20_000} ms (${result.scanned} ${this.signal} items read since the reader opened; ` +
      `Collector log: ${join(collectorOutputDir(), 'otelcol.log')})`);
  }
}

/**
 * Opens a reader on one signal's output file. By default it starts at the current end
 * of the file so only data sent after this call is seen; fromStart reads it all.
 */
export async function openCollectorOutput<S extends CollectorSignal>(
  signal: S, options: { readonly fromStart?: boolean; readonly file?: string } = {},
): Promise<CollectorOutputReader<ItemOf[S]>> {
  const file = options.file ?? collectorOutputFile(signal);
  const start = options.fromStart === true ? 0 : await sizeOf(file);
  return new FileReader(file, signal, start);
}

/**
 * True when the Collector answers an empty OTLP/HTTP logs export with 200 (the same
 * probe as test/infra/otelcol/ready.sh).
 */
export async function collectorReady(timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await fetch(`${COLLECTOR_OTLP_HTTP}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceLogs":[]}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
