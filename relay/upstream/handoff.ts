// The queue between one agent's streams and the relay pipeline.
//
//   capacity   maxPending received events; at capacity the agent's streams are
//              paused (grpc-js stops reading, HTTP/2 flow control holds the agent
//              back) and resumed at half. KubeArmor agents drop for a slow client on
//              their side; nothing is dropped here for being full.
//   hand-off   batches of up to maxBatch in arrival order, one submit() at a time
//              (so the pipeline sees each agent's events in order); a failed submit
//              is retried `retries` times with jittered back-off, then the batch is
//              dropped and counted (reason handoff_failed).
//   shutdown   drain(signal) hands over what is pending; what is left when the
//              signal aborts is dropped and counted (reason shutdown).
import type { Logger } from 'pino';
import type { RelayEvent } from '../event.js';
import { backoffDelay, sleep } from './backoff.js';

/** The pipeline's input, as ingest uses it: the batch is handed over when it returns undefined or its promise resolves. */
export interface EventSink {
  submit(events: readonly RelayEvent[]): Promise<void> | undefined;
}

export type HandoffOptions = {
  readonly sink: EventSink;
  readonly maxBatch: number;
  readonly maxPending: number;
  readonly retries: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly onPause: () => void;
  readonly onResume: () => void;
  readonly onDelivered: (n: number) => void;
  readonly onDropped: (reason: 'handoff_failed' | 'shutdown', n: number) => void;
  readonly onRetry: () => void;
  readonly log: Logger;
};

export interface Handoff {
  push(ev: RelayEvent): void;
  readonly pending: number;
  readonly paused: boolean;
  drain(signal: AbortSignal): Promise<void>;
}

export function createHandoff(o: HandoffOptions): Handoff {
  let pending: RelayEvent[] = [];
  let paused = false;
  let busy: Promise<void> | undefined;
  const stop = new AbortController();

  const submitWithRetry = async (batch: RelayEvent[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await o.sink.submit(batch);
        o.onDelivered(batch.length);
        return;
      } catch (err) {
        if (attempt >= o.retries || stop.signal.aborted) {
          o.onDropped('handoff_failed', batch.length);
          o.log.warn({ err, events: batch.length, attempts: attempt + 1 }, 'upstream hand-off failed; batch dropped');
          return;
        }
        o.onRetry();
        if (!(await sleep(backoffDelay(attempt, o.backoffInitialMs, o.backoffMaxMs), stop.signal))) {
          o.onDropped('shutdown', batch.length);
          return;
        }
      }
    }
  };

  const pump = async (): Promise<void> => {
    await new Promise<void>((r) => setImmediate(r)); // let a burst of stream data gather into one batch
    while (pending.length > 0 && !stop.signal.aborted) {
      const batch = pending.length <= o.maxBatch ? pending : pending.slice(0, o.maxBatch);
      pending = pending.length <= o.maxBatch ? [] : pending.slice(o.maxBatch);
      await submitWithRetry(batch);
      if (paused && pending.length <= o.maxPending / 2) {
        paused = false;
        o.onResume();
      }
    }
    busy = undefined;
  };

  return {
    push(ev) {
      if (stop.signal.aborted) {
        o.onDropped('shutdown', 1);
        return;
      }
      pending.push(ev);
      if (!paused && pending.length >= o.maxPending) {
        paused = true;
        o.onPause();
      }
      busy ??= pump();
    },
    get pending() {
      return pending.length;
    },
    get paused() {
      return paused;
    },
    async drain(signal) {
      const aborted = new Promise<void>((r) => {
        if (signal.aborted) r();
        else signal.addEventListener('abort', () => r(), { once: true });
      });
      while (busy && !signal.aborted) await Promise.race([busy, aborted]);
      stop.abort();
      if (pending.length > 0) o.onDropped('shutdown', pending.length);
      pending = [];
    },
  };
}
