// The Kubernetes API test server speaks the list/watch protocol as kube-apiserver does:
// checked over raw HTTP, and with @kubernetes/client-node's stock informer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { startK8sApiServer, writeKubeconfig, type K8sApiServer } from '../../support/k8s-api-server.js';
import { createBarePod, createDeployment, createNamespace } from '../../support/k8s-fixtures.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { testDir } from './harness.js';

type WatchEvent = { type: string; object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string } } };

type OpenWatch = { status: number; events: WatchEvent[]; raw: () => string; ended: Promise<'end' | 'error'>; close: () => void };

function openWatch(url: string, headers: Record<string, string> = {}): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res: IncomingMessage) => {
      let buf = '';
      let all = '';
      const events: WatchEvent[] = [];
      const ended = new Promise<'end' | 'error'>((r) => { res.on('end', () => r('end')); res.on('error', () => r('error')); res.on('aborted', () => r('error')); });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        all += chunk;
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
          buf = buf.slice(nl + 1);
        }
      });
      resolve({ status: res.statusCode ?? 0, events, raw: () => all, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('Kubernetes API test server: protocol', () => {
  let api: K8sApiServer;
  const auth = { authorization: 'Bearer t0ken' };
  before(async () => {
    api = await startK8sApiServer({ token: 't0ken', historyLimit: 50 });
    createNamespace(api, 'a');
    createNamespace(api, 'b');
  });
  after(async () => { await api.close(); });

  it('refuses requests without the bearer token with a 401 Status', async () => {
    const r = await getJson(`${api.url}/api/v1/pods`);
    assert.equal(r.status, 401);
    assert.equal(r.body.kind, 'Status');
    assert.equal(r.body.code, 401);
  });

  it('lists cluster-wide and per namespace with the list resourceVersion and items without kind', async () => {
    createBarePod(api, 'a', 'p1');
    createBarePod(api, 'b', 'p2');
    const all = await getJson(`${api.url}/api/v1/pods`, auth);
    assert.equal(all.status, 200);
    assert.equal(all.body.kind, 'PodList');
    assert.equal(all.body.apiVersion, 'v1');
    assert.equal((all.body.metadata as { resourceVersion: string }).resourceVersion, String(api.resourceVersion));
    const items = all.body.items as Array<{ kind?: string; metadata: { name: string; resourceVersion: string; uid: string } }>;
    assert.deepEqual(items.map((i) => i.metadata.name), ['p1', 'p2']);
    assert.equal(items[0]?.kind, undefined);
    assert.match(items[0]?.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    const nsA = await getJson(`${api.url}/api/v1/namespaces/a/pods`, auth);
    assert.deepEqual((nsA.body.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name), ['p1']);
    const apps = await getJson(`${api.url}/apis/apps/v1/deployments`, auth);
    assert.equal(apps.body.kind, 'DeploymentList');
    assert.equal(apps.body.apiVersion, 'apps/v1');
    const one = await getJson(`${api.url}/api/v1/namespaces/a/pods/p1`, auth);
    assert.equal(one.body.kind, 'Pod');
    const missing = await getJson(`${api.url}/api/v1/namespaces/a/pods/nope`, auth);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');
    assert.equal((await getJson(`${api.url}/apis/batch/v1/pods`, auth)).status, 404, 'pods are not in batch/v1');
    assert.equal((await getJson(`${api.url}/api/v1/namespaces/a/nodes`, auth)).status, 404, 'nodes are not namespaced');
  });

  it('watch from a resourceVersion replays later changes in order, then streams live ones', async () => {
    const from = api.resourceVersion;
    createBarePod(api, 'a', 'w1');
    api.patch('pods', 'a', 'w1', (o) => { o.metadata.labels = { x: 'y' }; });
    api.delete('pods', 'a', 'w1');
    const w = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${from}`, auth);
    assert.equal(w.status, 200);
    await pollUntil('replayed events', () => w.events.length === 3);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    assert.deepEqual(w.events.map((e) => Number(e.object.metadata?.resourceVersion)), [from + 1, from + 2, from + 3]);
    assert.equal(w.events[0]?.object.kind, 'Pod');
    createBarePod(api, 'b', 'w2');
    await pollUntil('live event', () => w.events.length === 4);
    assert.equal(w.events[3]?.object.metadata?.name, 'w2');
    assert.equal(api.activeWatches('pods'), 1);
    w.close();
    await pollUntil('watch closed on the server', () => api.activeWatches('pods') === 0);
  });

  it('watch without resourceVersion starts with ADDED for the current objects; namespaced watch filters', async () => {
    const w = await openWatch(`${api.url}/api/v1/namespaces/b/pods?watch=1`, auth);
    await pollUntil('initial state', () => w.events.length >= 2);
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`).sort(), ['ADDED p2', 'ADDED w2']);
    createBarePod(api, 'a', 'other-ns');
    createBarePod(api, 'b', 'same-ns');
    await pollUntil('namespaced live event', () => w.events.length === 3);
    assert.equal(w.events[2]?.object.metadata?.name, 'same-ns');
    w.close();
  });

  it('BOOKMARK events only when allowWatchBookmarks=true, carrying the current resourceVersion', async () => {
    const rv = api.resourceVersion;
    const plain = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${rv}`, auth);
    const withB = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, auth);
    await pollUntil('both watches registered', () => api.activeWatches('pods') === 2);
    assert.equal(api.bookmark('pods'), 1);
    await pollUntil('bookmark', () => withB.events.length === 1);
    assert.deepEqual(withB.events[0], { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } });
    createBarePod(api, 'a', 'after-bookmark');
    await pollUntil('event on both', () => plain.events.length === 1 && withB.events.length === 2);
    assert.equal(plain.events[0]?.type, 'ADDED');
    plain.close();
    withB.close();
  });

  it('a too-old resourceVersion gets an ERROR event with a 410 Expired Status and the stream ends', async () => {
    const old = api.resourceVersion;
    createBarePod(api, 'a', 'c1');
    api.compact();
    const w = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${old}`, auth);
    assert.equal(w.status, 200);
    assert.equal(await w.ended, 'end');
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]?.type, 'ERROR');
    assert.deepEqual({ kind: w.events[0]?.object.kind, code: w.events[0]?.object.code, reason: w.events[0]?.object.reason },
      { kind: 'Status', code: 410, reason: 'Expired' });
    const fresh = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${api.resourceVersion}`, auth);
    assert.equal(fresh.status, 200);
    fresh.close();
  });

  it('history is bounded: falling out of it is 410 too', async () => {
    const start = api.resourceVersion;
    for (let i = 0; i < 60; i++) createBarePod(api, 'b', `bulk-${i}`);
    assert.ok(api.compactedResourceVersion > start);
    const w = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${start}`, auth);
    await w.ended;
    assert.equal(w.events[0]?.object.code, 410);
    const ok = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${api.compactedResourceVersion}`, auth);
    ok.close();
    assert.equal(ok.status, 200);
  });

  it('label and field selectors filter lists and watches; leaving the selector is a DELETED event', async () => {
    const rv = api.resourceVersion;
    createBarePod(api, 'a', 'sel', { labels: { role: 'db' }, nodeName: 'n7' });
    const list = await getJson(`${api.url}/api/v1/pods?labelSelector=role%3Ddb&fieldSelector=spec.nodeName%3Dn7`, auth);
    assert.deepEqual((list.body.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name), ['sel']);
    const w = await openWatch(`${api.url}/api/v1/pods?watch=true&resourceVersion=${rv}&labelSelector=role%3Ddb`, auth);
    await pollUntil('added', () => w.events.length === 1);
    api.patch('pods', 'a', 'sel', (o) => { o.metadata.labels = { role: 'web' }; });
    await pollUntil('left selector', () => w.events.length === 2);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'DELETED']);
    w.close();
    const bad = await getJson(`${api.url}/api/v1/pods?labelSelector=role%20in%20(a,b)`, auth);
    assert.equal(bad.status, 400);
  });

  it('test controls: broken, ended and expired watches, injected failures, request counts', async () => {
    const base = `${api.url}/api/v1/pods?watch=true&resourceVersion=${api.resourceVersion}`;
    const broken = await openWatch(base, auth);
    const ended = await openWatch(base, auth);
    await pollUntil('watches registered', () => api.activeWatches('pods') === 2);
    assert.equal(api.breakWatches('pods', { partialLine: false }), 2);
    assert.equal(await broken.ended, 'error', 'a broken watch is cut, not ended');
    const e2 = await openWatch(base, auth);
    await pollUntil('registered', () => api.activeWatches('pods') === 1);
    assert.equal(api.endWatches('pods'), 1);
    assert.equal(await e2.ended, 'end');
    assert.equal(await ended.ended, 'error');
    const e3 = await openWatch(base, auth);
    await pollUntil('registered', () => api.activeWatches('pods') === 1);
    api.expireWatches('pods');
    assert.equal(await e3.ended, 'end');
    assert.equal(e3.events.at(-1)?.object.code, 410);
    api.failNext({ resource: 'nodes', verb: 'list', status: 503, count: 1 });
    const before = api.requestCount({ resource: 'nodes', verb: 'list' });
    assert.equal((await getJson(`${api.url}/api/v1/nodes`, auth)).status, 503);
    assert.equal((await getJson(`${api.url}/api/v1/nodes`, auth)).status, 200);
    assert.equal(api.requestCount({ resource: 'nodes', verb: 'list' }), before + 2);
    const t = await openWatch(`${base}&timeoutSeconds=1`, auth);
    assert.equal(await t.ended, 'end', 'timeoutSeconds ends the watch cleanly');
  });

  it("serves @kubernetes/client-node's stock informer (makeInformer): initial list, then watch events", async () => {
    const dir = testDir();
    const kc = new KubeConfig();
    kc.loadFromFile(writeKubeconfig(join(dir, 'kubeconfig'), api.url, { token: 't0ken' }));
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/a/pods', () => core.listNamespacedPod({ namespace: 'a' }));
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name ?? ''}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name ?? ''}`));
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await pollUntil('initial list', () => informer.list().length > 0);
    const initial = informer.list().length;
    await pollUntil('watch registered', () => api.activeWatches('pods') === 1);
    const d = createDeployment(api, { namespace: 'a', name: 'inf' });
    const podName = d.pods[0]?.pod.metadata.name ?? '';
    await pollUntil('watched add', () => informer.get(podName, 'a') !== undefined);
    api.delete('pods', 'a', podName);
    await pollUntil('watched delete', () => informer.get(podName, 'a') === undefined);
    assert.equal(informer.list().length, initial);
    assert.ok(seen.includes(`add ${podName}`) && seen.includes(`delete ${podName}`));
    await informer.stop();
    assert.deepEqual(errors.filter((e) => !(e instanceof Error && e.name === 'AbortError')), []);
    rmSync(dir, { recursive: true, force: true });
  });
});
