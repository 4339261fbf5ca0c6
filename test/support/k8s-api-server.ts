// A protocol-faithful Kubernetes API test server (plain node:http on 127.0.0.1, ephemeral
// port) for pods, namespaces, nodes, replicasets, deployments, statefulsets, daemonsets,
// jobs and cronjobs, behaving towards list/watch clients (client-go reflectors,
// @kubernetes/client-node ListWatch) as kube-apiserver does:
// - LIST  GET /api/v1/<res> | /api/v1/namespaces/<ns>/<res> | /apis/<g>/v1/... returns
//   {kind: <Kind>List, metadata: {resourceVersion}, items}; items carry no kind/apiVersion.
// - WATCH the same paths with ?watch=true streams one JSON event per line
//   ({type, object}) for every change after ?resourceVersion=N, replayed from a bounded
//   history; with no resourceVersion (or "0") it starts with synthetic ADDED events for the
//   current state. BOOKMARK events only when ?allowWatchBookmarks=true. A resourceVersion
//   older than the history gets HTTP 200 with an ERROR event carrying a Status (code 410,
//   reason Expired) and the stream ends (goneStyle 'event', kube-apiserver's behaviour),
//   or a plain HTTP 410 Status (goneStyle 'http').
// - GET of one object; equality label/field selectors; timeoutSeconds; optional bearer token.
// Test controls mutate objects, compact history, expire/break/end/stall/slow watches,
// inject bookmarks and failures, hold requests unanswered until released (to make
// "while disconnected" and "while relisting" deterministic), and count requests.
// Not served: writes over HTTP (tests mutate through the controls), limit/continue
// paging (the list is whole; the API allows servers to ignore `limit`), protobuf, and
// set-based selectors (refused with 400, never ignored). Nothing here is timed except
// the delays a test asks for; no socket outlives close().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiStore, RESOURCES, apiVersionOf,
  type KObject, type ResourceName, type StoreEvent,
} from './k8s-api-store.js';
import { matches, parseSelector, type Selector } from './k8s-api-selectors.js';
import { route, statusObject } from './k8s-api-protocol.js';

export type { KObject, ResourceName } from './k8s-api-store.js';
export { statusObject, writeKubeconfig } from './k8s-api-protocol.js';

export type K8sApiServerOptions = {
  /** events kept for watch resumption; older resourceVersions get 410 (default 10000) */
  readonly historyLimit?: number;
  /** require `Authorization: Bearer <token>` (401 otherwise) */
  readonly token?: string;
  /** how a too-old watch resourceVersion is refused (default 'event') */
  readonly goneStyle?: 'event' | 'http';
  /** send a BOOKMARK this often on watches that allow them (default: never on its own) */
  readonly bookmarkIntervalMs?: number;
};

export type Verb = 'list' | 'watch' | 'get';

export type RequestRecord = {
  readonly method: string;
  readonly path: string;
  readonly verb: Verb | 'other';
  readonly resource: ResourceName | undefined;
  readonly namespace: string | undefined;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
};

export type FailureRule = { readonly resource?: ResourceName; readonly verb?: Verb; readonly status: number; count: number };

export interface K8sApiServer {
  readonly url: string;
  readonly resourceVersion: number;
  readonly compactedResourceVersion: number;
  create(resource: ResourceName, obj: KObject): KObject;
  update(resource: ResourceName, obj: KObject): KObject;
  /** read-modify-write of one stored object */
  patch(resource: ResourceName, namespace: string | undefined, name: string, mutate: (o: KObject) => void): KObject;
  delete(resource: ResourceName, namespace: string | undefined, name: string): KObject;
  get(resource: ResourceName, namespace: string | undefined, name: string): KObject | undefined;
  /** forget all history: every watch resuming from an earlier resourceVersion gets 410 */
  compact(): void;
  /** send ERROR 410 Expired on open watches (after what is queued), then end them */
  expireWatches(resource?: ResourceName): number;
  /** queue a BOOKMARK at the current resourceVersion on open watches that allow bookmarks */
  bookmark(resource?: ResourceName): number;
  /** destroy the sockets of open watches (optionally after half an event line) */
  breakWatches(resource?: ResourceName, opts?: { partialLine?: boolean }): number;
  /** end open watches cleanly, as a server-side timeout does */
  endWatches(resource?: ResourceName): number;
  /** delay every watch event by ms (0 = off) */
  setWatchDelay(ms: number): void;
  /** hold every watch event (connections stay open, nothing is written) until unstalled */
  setWatchStall(on: boolean): void;
  /** answer the next `count` matching requests with an error Status */
  failNext(rule: FailureRule): void;
  /**
   * Hold matching requests unanswered (connection open) until release(); they are then
   * served against the state at release time. Until then the gate counts them.
   */
  hold(match: { resource?: ResourceName; verb?: Verb }): RequestGate;
  activeWatches(resource?: ResourceName): number;
  requests(filter?: { resource?: ResourceName; verb?: Verb }): RequestRecord[];
  requestCount(filter?: { resource?: ResourceName; verb?: Verb }): number;
  close(): Promise<void>;
}

export interface RequestGate {
  /** requests currently held */
  waiting(): number;
  /** serve the held requests and stop holding */
  release(): void;
}

type QueueItem = string | { readonly end: true };

type WatchConn = {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly labels: Selector;
  readonly fields: Selector;
  readonly bookmarks: boolean;
  readonly startRv: number;
  readonly res: ServerResponse;
  readonly queue: QueueItem[];
  pumping: boolean;
  closed: boolean;
  timers: NodeJS.Timeout[];
};

export async function startK8sApiServer(opts: K8sApiServerOptions = {}): Promise<K8sApiServer> {
  const store = new ApiStore(opts.historyLimit ?? 10_000);
  const goneStyle = opts.goneStyle ?? 'event';
  const watches = new Set<WatchConn>();
  const log: RequestRecord[] = [];
  const failures: FailureRule[] = [];
  let delayMs = 0;
  let stalled = false;

  const write = (w: WatchConn, item: QueueItem): void => {
    if (w.closed) return;
    if (typeof item === 'string') w.res.write(item);
    else closeWatch(w, 'end');
  };
  const pump = (w: WatchConn): void => {
    if (w.pumping) return;
    while (!w.closed && w.queue.length > 0 && !stalled) {
      if (delayMs > 0) {
        w.pumping = true;
        const t = setTimeout(() => {
          w.pumping = false;
          const item = w.queue.shift();
          if (item !== undefined) write(w, item);
          pump(w);
        }, delayMs);
        w.timers.push(t);
        return;
      }
      const item = w.queue.shift();
      if (item !== undefined) write(w, item);
    }
  };
  const enqueue = (w: WatchConn, item: QueueItem): void => { w.queue.push(item); pump(w); };
  const line = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;
  const bookmarkLine = (r: ResourceName): string => line('BOOKMARK', {
    kind: RESOURCES[r].kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(store.resourceVersion) },
  });
  const closeWatch = (w: WatchConn, how: 'end' | 'destroy'): void => {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) clearTimeout(t);
    watches.delete(w);
    if (how === 'end') w.res.end();
    else w.res.socket?.destroy();
  };

  /** The event a watcher with selectors sees for one store event (kube-apiserver's rules). */
  const translate = (w: WatchConn, ev: StoreEvent): string | undefined => {
    if (ev.resource !== w.resource || ev.rv <= w.startRv) return undefined;
    if (w.namespace !== undefined && ev.object.metadata.namespace !== w.namespace) return undefined;
    const now = ev.type !== 'DELETED' && matches(ev.object, w.labels, w.fields);
    const before = ev.previous !== undefined && matches(ev.previous, w.labels, w.fields);
    if (ev.type === 'DELETED') return before ? line('DELETED', ev.object) : undefined;
    if (now && before) return line('MODIFIED', ev.object);
    if (now) return line('ADDED', ev.object);
    if (before) return line('DELETED', ev.object);
    return undefined;
  };

  store.onEvent((ev) => {
    for (const w of watches) {
      const l = translate(w, ev);
      if (l !== undefined) enqueue(w, l);
    }
  });

  const sendJson = (res: ServerResponse, code: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  type Held = { readonly res: ServerResponse; readonly run: () => void };
  type Gate = { readonly resource?: ResourceName; readonly verb?: Verb; held: Held[] };
  const gates: Gate[] = [];
  const alive = (res: ServerResponse): boolean => !res.destroyed && !res.writableEnded;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const r = route(u.pathname);
    const w = u.searchParams.get('watch');
    const verb: Verb | 'other' = req.method !== 'GET' || r === undefined ? 'other'
      : r.name !== undefined ? 'get' : w === 'true' || w === '1' ? 'watch' : 'list';
    const gate = gates.find((g) => (g.resource === undefined || g.resource === r?.resource)
      && (g.verb === undefined || g.verb === verb));
    if (gate !== undefined) {
      gate.held.push({ res, run: () => { if (alive(res)) serve(req, res); } });
      return;
    }
    serve(req, res);
  };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    const r = route(url.pathname);
    const isWatch = query.watch === 'true' || query.watch === '1';
    const verb: Verb | 'other' = req.method !== 'GET' || r === undefined ? 'other'
      : r.name !== undefined ? 'get' : isWatch ? 'watch' : 'list';
    const record = (status: number): void => {
      log.push({ method: req.method ?? '', path: url.pathname, verb, resource: r?.resource, namespace: r?.namespace, query, status });
    };
    const fail = (code: number, message: string): void => { record(code); sendJson(res, code, statusObject(code, message)); };

    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      fail(401, 'Unauthorized'); return;
    }
    if (url.pathname === '/version') {
      record(200);
      sendJson(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-palisade-test', platform: 'linux/amd64' });
      return;
    }
    if (r === undefined) { fail(404, `the server could not find the requested resource (${url.pathname})`); return; }
    if (req.method !== 'GET') { fail(405, `${req.method ?? ''} is not supported by the test server`); return; }
    const rule = failures.find((f) => f.count > 0 && (f.resource === undefined || f.resource === r.resource)
      && (f.verb === undefined || f.verb === verb));
    if (rule !== undefined) {
      rule.count -= 1;
      fail(rule.status, `injected failure ${rule.status} for ${verb} ${r.resource}`);
      return;
    }
    if (verb === 'get') {
      const obj = store.get(r.resource, r.namespace, r.name ?? '');
      if (obj === undefined) { fail(404, `${r.resource} "${r.name ?? ''}" not found`); return; }
      record(200); sendJson(res, 200, obj); return;
    }
    const labels = parseSelector(url.searchParams.get('labelSelector'), 'label');
    const fields = parseSelector(url.searchParams.get('fieldSelector'), 'field');
    if (!labels.ok) { fail(400, labels.error); return; }
    if (!fields.ok) { fail(400, fields.error); return; }
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) { fail(400, `invalid resourceVersion "${rvParam}"`); return; }

    if (verb === 'list') {
      const items = store.list(r.resource, r.namespace)
        .filter((o) => matches(o, labels.selector, fields.selector))
        .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`))
        .map((o) => { const { kind: _k, apiVersion: _a, ...rest } = o; return rest; });
      record(200);
      sendJson(res, 200, {
        kind: `${RESOURCES[r.resource].kind}List`, apiVersion: apiVersionOf(r.resource),
        metadata: { resourceVersion: String(store.resourceVersion) }, items,
      });
      return;
    }

    // WATCH
    const fromRv = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    const replay = fromRv === undefined ? undefined : store.eventsSince(r.resource, fromRv);
    if (replay === 'gone' && goneStyle === 'http') {
      fail(410, `too old resource version: ${fromRv ?? 0} (${store.compactedResourceVersion})`); return;
    }
    record(200);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w: WatchConn = {
      resource: r.resource, namespace: r.namespace, labels: labels.selector, fields: fields.selector,
      bookmarks: query.allowWatchBookmarks === 'true', startRv: fromRv ?? store.resourceVersion,
      res, queue: [], pumping: false, closed: false, timers: [],
    };
    res.on('close', () => closeWatch(w, 'end'));
    if (replay === 'gone') {
      enqueue(w, line('ERROR', statusObject(410, `too old resource version: ${fromRv ?? 0} (${store.compactedResourceVersion})`)));
      enqueue(w, { end: true });
      return;
    }
    watches.add(w);
    if (replay === undefined) {
      for (const o of store.list(r.resource, r.namespace)) {
        if (matches(o, w.labels, w.fields)) enqueue(w, line('ADDED', o));
      }
    } else {
      for (const ev of replay) {
        const l = translate(w, ev);
        if (l !== undefined) enqueue(w, l);
      }
    }
    const timeoutSeconds = Number(query.timeoutSeconds ?? '0');
    if (timeoutSeconds > 0) w.timers.push(setTimeout(() => enqueue(w, { end: true }), timeoutSeconds * 1000));
    if (w.bookmarks && opts.bookmarkIntervalMs !== undefined) {
      const t = setInterval(() => enqueue(w, bookmarkLine(w.resource)), opts.bookmarkIntervalMs);
      w.timers.push(t);
    }
  };

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const select = (resource?: ResourceName): WatchConn[] =>
    [...watches].filter((w) => resource === undefined || w.resource === resource);
  const filterLog = (f?: { resource?: ResourceName; verb?: Verb }): RequestRecord[] =>
    log.filter((l) => (f?.resource === undefined || l.resource === f.resource) && (f?.verb === undefined || l.verb === f.verb));

  return {
    url: `http://127.0.0.1:${port}`,
    get resourceVersion() { return store.resourceVersion; },
    get compactedResourceVersion() { return store.compactedResourceVersion; },
    create: (resource, obj) => store.create(resource, obj),
    update: (resource, obj) => store.update(resource, obj),
    patch: (resource, namespace, name, mutate) => {
      const cur = store.get(resource, namespace, name);
      if (cur === undefined) throw new Error(`k8s test server: ${resource} ${namespace ?? ''}/${name} does not exist`);
      mutate(cur);
      return store.update(resource, cur);
    },
    delete: (resource, namespace, name) => store.delete(resource, namespace, name),
    get: (resource, namespace, name) => store.get(resource, namespace, name),
    compact: () => store.compact(),
    expireWatches: (resource) => {
      const ws = select(resource);
      for (const w of ws) {
        enqueue(w, line('ERROR', statusObject(410, `too old resource version: ${w.startRv} (${store.resourceVersion})`)));
        enqueue(w, { end: true });
      }
      return ws.length;
    },
    bookmark: (resource) => {
      const ws = select(resource).filter((w) => w.bookmarks);
      for (const w of ws) enqueue(w, bookmarkLine(w.resource));
      return ws.length;
    },
    breakWatches: (resource, o) => {
      const ws = select(resource);
      for (const w of ws) {
        if (o?.partialLine === true && !w.closed) w.res.write('{"type":"MODIFIED","object":{"metadata":{"na');
        closeWatch(w, 'destroy');
      }
      return ws.length;
    },
    endWatches: (resource) => {
      const ws = select(resource);
      for (const w of ws) closeWatch(w, 'end');
      return ws.length;
    },
    setWatchDelay: (ms) => { delayMs = Math.max(0, ms); },
    setWatchStall: (on) => {
      stalled = on;
      if (!on) for (const w of watches) pump(w);
    },
    failNext: (rule) => { failures.push({ ...rule }); },
    hold: (match) => {
      const g: Gate = { ...match, held: [] };
      gates.push(g);
      return {
        waiting: () => g.held.filter((h) => alive(h.res)).length,
        release: () => {
          const i = gates.indexOf(g);
          if (i >= 0) gates.splice(i, 1);
          const held = g.held;
          g.held = [];
          for (const h of held) h.run();
        },
      };
    },
    activeWatches: (resource) => select(resource).length,
    requests: (f) => filterLog(f),
    requestCount: (f) => filterLog(f).length,
    close: async () => {
      for (const w of [...watches]) closeWatch(w, 'destroy');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

