// Object store of the Kubernetes API test server: the resources it serves, one global
// resourceVersion counter (like etcd's revision, shared by every resource), and a
// bounded history of change events that watches replay from.
//
// Invariants:
// - Every create/update/delete increments the global resourceVersion by exactly one and
//   stamps it on the object (a DELETED event carries the deletion's version, as the real
//   API server does).
// - history holds every event with rv > compactedRv, in rv order; a watch may resume
//   from any rv >= compactedRv and must get 410 Gone for anything older.
// - Objects are deep-copied on the way in and out: callers never share memory with it.
import { randomUUID } from 'node:crypto';

export type ResourceName =
  | 'pods' | 'namespaces' | 'nodes'
  | 'replicasets' | 'deployments' | 'statefulsets' | 'daemonsets'
  | 'jobs' | 'cronjobs';

export type ResourceInfo = {
  readonly group: '' | 'apps' | 'batch';
  readonly version: 'v1';
  readonly kind: string;
  readonly namespaced: boolean;
};

export const RESOURCES: Readonly<Record<ResourceName, ResourceInfo>> = {
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  namespaces: { group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  nodes: { group: '', version: 'v1', kind: 'Node', namespaced: false },
  replicasets: { group: 'apps', version: 'v1', kind: 'ReplicaSet', namespaced: true },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', kind: 'StatefulSet', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', kind: 'DaemonSet', namespaced: true },
  jobs: { group: 'batch', version: 'v1', kind: 'Job', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', kind: 'CronJob', namespaced: true },
};

export function isResourceName(s: string): s is ResourceName {
  return Object.prototype.hasOwnProperty.call(RESOURCES, s);
}

export function apiVersionOf(r: ResourceName): string {
  const info = RESOURCES[r];
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** A Kubernetes object as JSON: only metadata is interpreted by the store. */
export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: ReadonlyArray<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  };
  spec?: unknown;
  status?: unknown;
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type StoreEvent = {
  readonly rv: number;
  readonly resource: ResourceName;
  readonly type: EventType;
  /** the object after the change (for DELETED: the last state, stamped with rv) */
  readonly object: KObject;
  /** the object before the change (undefined for ADDED); used for selector transitions */
  readonly previous: KObject | undefined;
};

export type StoreListener = (ev: StoreEvent) => void;

const clone = <T>(v: T): T => structuredClone(v);

export class ApiStore {
  private rv: number;
  private compacted: number;
  private readonly objects = new Map<ResourceName, Map<string, KObject>>();
  private history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly historyLimit: number, startRv = 100) {
    this.rv = startRv;
    this.compacted = startRv;
    for (const r of Object.keys(RESOURCES) as ResourceName[]) this.objects.set(r, new Map());
  }

  get resourceVersion(): number { return this.rv; }
  /** The oldest resourceVersion a watch may still resume from. */
  get compactedResourceVersion(): number { return this.compacted; }
  get historyLength(): number { return this.history.length; }

  onEvent(l: StoreListener): () => void {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  list(resource: ResourceName, namespace?: string): KObject[] {
    const out: KObject[] = [];
    for (const obj of this.bucket(resource).values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(clone(obj));
    }
    return out;
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(resource).get(keyOf(namespace, name));
    return o === undefined ? undefined : clone(o);
  }

  /** Events after `rv` for one resource, or 'gone' when the history no longer reaches back. */
  eventsSince(resource: ResourceName, rv: number): StoreEvent[] | 'gone' {
    if (rv < this.compacted) return 'gone';
    return this.history.filter((e) => e.resource === resource && e.rv > rv);
  }

  create(resource: ResourceName, input: KObject): KObject {
    const obj = this.normalise(resource, input);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (this.bucket(resource).has(key)) throw new Error(`k8s test store: ${resource} ${key} already exists`);
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= new Date().toISOString();
    return this.commit(resource, 'ADDED', obj, undefined);
  }

  update(resource: ResourceName, input: KObject): KObject {
    const obj = this.normalise(resource, input);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    const prev = this.bucket(resource).get(key);
    if (prev === undefined) throw new Error(`k8s test store: ${resource} ${key} does not exist`);
    obj.metadata.uid = prev.metadata.uid;
    obj.metadata.creationTimestamp = prev.metadata.creationTimestamp;
    return this.commit(resource, 'MODIFIED', obj, prev);
  }

  delete(resource: ResourceName, namespace: string | undefined, name: string): KObject {
    const key = keyOf(namespace, name);
    const prev = this.bucket(resource).get(key);
    if (prev === undefined) throw new Error(`k8s test store: ${resource} ${key} does not exist`);
    return this.commit(resource, 'DELETED', clone(prev), prev);
  }

  /** Drop the whole history: a watch from any earlier resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.compacted = this.rv;
  }

  private commit(resource: ResourceName, type: EventType, obj: KObject, prev: KObject | undefined): KObject {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const bucket = this.bucket(resource);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETED') bucket.delete(key);
    else bucket.set(key, obj);
    const ev: StoreEvent = { rv: this.rv, resource, type, object: clone(obj), previous: prev === undefined ? undefined : clone(prev) };
    this.history.push(ev);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.compacted = dropped.rv;
    }
    for (const l of this.listeners) l(ev);
    return clone(obj);
  }

  private normalise(resource: ResourceName, input: KObject): KObject {
    const obj = clone(input);
    const info = RESOURCES[resource];
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = info.kind;
    if (typeof obj.metadata?.name !== 'string' || obj.metadata.name === '') {
      throw new Error(`k8s test store: ${resource} object without metadata.name`);
    }
    if (info.namespaced) {
      if (typeof obj.metadata.namespace !== 'string' || obj.metadata.namespace === '') {
        throw new Error(`k8s test store: namespaced ${resource} ${obj.metadata.name} without metadata.namespace`);
      }
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  private bucket(resource: ResourceName): Map<string, KObject> {
    const b = this.objects.get(resource);
    if (b === undefined) throw new Error(`k8s test store: unknown resource ${resource}`);
    return b;
  }
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}
