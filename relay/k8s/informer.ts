// One self-healing informer: @kubernetes/client-node's ListWatch for one resource, with
// what it lacks for a long-running service:
// - bookmarks requested on every watch (allowWatchBookmarks=true), so the resourceVersion
//   it resumes from stays recent and a reconnect rarely needs a relist;
// - an idle timeout per watch (no bytes for watchIdleTimeoutMs → resume from the last
//   resourceVersion) and a cap on the client's own reconnect delay;
// - restart after the errors ListWatch gives up on (a list that failed, a watch cut
//   mid-stream, HTTP 5xx): jittered doubling back-off, reset by the next list or event;
// - counters for lists, relists, watches, 410s, idle timeouts, errors and bookmarks.
// Invariants: the object store is never cleared. A relist (after 410 or at start) keeps
// serving the old objects until the new list arrives, then removes only the objects the
// list no longer has (ListWatch's deleteItems) and updates the rest. After stop(), no
// request is started and no callback is delivered.
import {
  ListWatch, Watch,
  type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';

export type InformerStats = {
  readonly resource: string;
  readonly objects: number;
  readonly synced: boolean;
  readonly listing: boolean;
  readonly lists: number;
  readonly relists: number;
  readonly watches: number;
  readonly watchRestarts: number;
  readonly gone: number;
  readonly idleTimeouts: number;
  readonly errors: number;
  readonly restarts: number;
  readonly bookmarks: number;
  readonly events: number;
  readonly resourceVersion: string;
  readonly lastError: string | undefined;
};

export type InformerOptions<T extends KubernetesObject> = {
  readonly kubeConfig: KubeConfig;
  readonly resource: string;
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly watchIdleTimeoutMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly restartBackoffInitialMs: number;
  readonly restartBackoffMaxMs: number;
  readonly logger: Logger;
  readonly onUpsert: (obj: T) => void;
  readonly onDelete: (obj: T) => void;
};

export interface ManagedInformer<T extends KubernetesObject> {
  readonly resource: string;
  readonly cache: ObjectCache<T>;
  start(): void;
  stop(): Promise<void>;
  synced(): boolean;
  stats(): InformerStats;
}

type Counters = {
  lists: number; watches: number; gone: number; idleTimeouts: number; errors: number;
  restarts: number; bookmarks: number; events: number; listing: boolean; synced: boolean;
  listedSinceWatch: boolean; lastError: string | undefined;
};

type WatchCallback = (phase: string, obj: unknown, raw?: unknown) => void;
type DoneCallback = (err: unknown) => void;

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = statusCodeOf(err);
    return code === undefined ? `${err.name}: ${err.message}` : `HTTP ${code}: ${err.message.split('\n')[0] ?? ''}`;
  }
  return String(err);
}

/** client-node's Watch with bookmarks, a configurable idle timeout and counters. */
class InstrumentedWatch extends Watch {
  private active: AbortController | undefined;

  constructor(kc: KubeConfig, private readonly c: Counters, idleMs: number, private readonly isStopped: () => boolean) {
    super(kc);
    // client-node sets this private field in its constructor and uses it as the idle timeout
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = idleMs;
  }

  override async watch(path: string, query: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback, done: DoneCallback): Promise<AbortController> {
    if (this.isStopped()) {
      const ctl = new AbortController();
      ctl.abort();
      return ctl;
    }
    const c = this.c;
    c.watches += 1;
    if (c.listedSinceWatch) { c.synced = true; c.listedSinceWatch = false; }
    const ctl = await super.watch(path, { ...query, allowWatchBookmarks: true }, (phase, obj, raw) => {
      if (this.isStopped()) return;
      if (phase === 'BOOKMARK') c.bookmarks += 1;
      else if (phase === 'ERROR') {
        if (statusCodeOf(obj) === 410) c.gone += 1;
      } else c.events += 1;
      callback(phase, obj, raw);
    }, (err: unknown) => {
      if (statusCodeOf(err) === 410) c.gone += 1;
      if (err instanceof Error && err.name === 'TimeoutError') c.idleTimeouts += 1;
      done(err);
    });
    // ListWatch.stop() only aborts a watch whose connect has finished; one still connecting
    // when stop() ran is aborted here, so no watch outlives stop().
    if (this.isStopped()) ctl.abort();
    else this.active = ctl;
    return ctl;
  }

  abortActive(): void {
    this.active?.abort();
    this.active = undefined;
  }
}

export function createManagedInformer<T extends KubernetesObject>(o: InformerOptions<T>): ManagedInformer<T> {
  const c: Counters = {
    lists: 0, watches: 0, gone: 0, idleTimeouts: 0, errors: 0, restarts: 0, bookmarks: 0, events: 0,
    listing: false, synced: false, listedSinceWatch: false, lastError: undefined,
  };
  let stopped = false;
  let backoffMs = o.restartBackoffInitialMs;
  let restartTimer: NodeJS.Timeout | undefined;
  const wakeups = new Set<() => void>();
  const log = o.logger.child({ resource: o.resource });

  const list = async (): Promise<KubernetesListObject<T>> => {
    c.lists += 1;
    c.listing = true;
    try {
      const result = await o.list();
      backoffMs = o.restartBackoffInitialMs;
      c.listedSinceWatch = true;
      return result;
    } finally {
      c.listing = false;
    }
  };
  // A reconnect delay that ends early (and quietly) on stop(), so nothing outlives it.
  const delayFn = (ms: number): Promise<void> => new Promise<void>((resolve) => {
    if (stopped) { resolve(); return; }
    const wake = (): void => { clearTimeout(t); wakeups.delete(wake); resolve(); };
    const t = setTimeout(wake, Math.min(ms, o.reconnectMaxDelayMs));
    wakeups.add(wake);
  });
  const watch = new InstrumentedWatch(o.kubeConfig, c, o.watchIdleTimeoutMs, () => stopped);
  const lw = new ListWatch<T>(o.path, watch, list, false, undefined, undefined, { delayFn });

  lw.on('add', (obj: T) => { if (!stopped) { backoffMs = o.restartBackoffInitialMs; o.onUpsert(obj); } });
  lw.on('update', (obj: T) => { if (!stopped) { backoffMs = o.restartBackoffInitialMs; o.onUpsert(obj); } });
  lw.on('delete', (obj: T) => { if (!stopped) o.onDelete(obj); });

  const scheduleRestart = (): void => {
    if (stopped || restartTimer !== undefined) return;
    const delay = Math.round(backoffMs * (0.5 + Math.random() * 0.5));
    backoffMs = Math.min(backoffMs * 2, o.restartBackoffMaxMs);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopped) return;
      c.restarts += 1;
      run();
    }, delay);
  };
  const onError = (err: unknown): void => {
    if (stopped) return;
    c.errors += 1;
    c.lastError = describeError(err);
    log.warn({ err: c.lastError, restartInMs: backoffMs }, 'kubernetes informer error; restarting');
    scheduleRestart();
  };
  lw.on('error', onError);
  const run = (): void => { lw.start().catch(onError); };

  return {
    resource: o.resource,
    cache: lw,
    start: () => { stopped = false; run(); },
    stop: async () => {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      for (const w of [...wakeups]) w();
      await lw.stop();
      watch.abortActive();
    },
    synced: () => c.synced,
    stats: () => ({
      resource: o.resource,
      objects: lw.list().length,
      synced: c.synced,
      listing: c.listing,
      lists: c.lists,
      relists: Math.max(0, c.lists - 1),
      watches: c.watches,
      watchRestarts: Math.max(0, c.watches - 1),
      gone: c.gone,
      idleTimeouts: c.idleTimeouts,
      errors: c.errors,
      restarts: c.restarts,
      bookmarks: c.bookmarks,
      events: c.events,
      resourceVersion: lw.latestResourceVersion(),
      lastError: c.lastError,
    }),
  };
}
