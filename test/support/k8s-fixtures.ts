// Builders for realistic Kubernetes objects in the API test server: workloads with the
// owner chains the real controllers create (Deployment → ReplicaSet → Pod,
// CronJob → Job → Pod, StatefulSet/DaemonSet → Pod), running pods whose container
// statuses carry runtime-prefixed container ids, namespaces and nodes.
import { createHash } from 'node:crypto';
import type { K8sApiServer, KObject, ResourceName } from './k8s-api-server.js';

export type Runtime = 'containerd' | 'cri-o' | 'docker';

export type ContainerFixture = {
  readonly name: string;
  readonly image: string;
  /** 64 hex; derived from the pod and container names when omitted */
  readonly id?: string;
  readonly runtime?: Runtime;
};

export type PodFixture = {
  readonly pod: KObject;
  /** bare 64-hex ids, in container order */
  readonly containerIds: readonly string[];
};

/** A deterministic 64-hex container id. */
export function containerIdFor(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

type OwnerRef = { apiVersion: string; kind: string; name: string; uid: string; controller: boolean; blockOwnerDeletion: boolean };

function ownerRefOf(o: KObject): OwnerRef {
  return {
    apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata.name,
    uid: o.metadata.uid ?? '', controller: true, blockOwnerDeletion: true,
  };
}

function hashSuffix(seed: string, len: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = createHash('sha256').update(seed).digest();
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[(h[i] ?? 0) % alphabet.length];
  return s;
}

/** A pod object; with `running: false` its containers have no container id yet. */
export function podObject(namespace: string, name: string, opts: {
  labels?: Record<string, string>;
  owner?: KObject;
  containers: readonly ContainerFixture[];
  nodeName?: string;
  running?: boolean;
}): PodFixture {
  const running = opts.running ?? true;
  const ids = opts.containers.map((c) => c.id ?? containerIdFor(`${namespace}/${name}/${c.name}`));
  const pod: KObject = {
    metadata: {
      name, namespace, labels: { ...(opts.labels ?? {}) },
      ...(opts.owner === undefined ? {} : { ownerReferences: [ownerRefOf(opts.owner)] }),
    },
    spec: {
      nodeName: opts.nodeName ?? 'node-1',
      containers: opts.containers.map((c) => ({ name: c.name, image: c.image })),
    },
    status: {
      phase: running ? 'Running' : 'Pending',
      ...(running ? { podIP: `10.244.0.${(ids[0]?.charCodeAt(0) ?? 0) % 250 + 2}` } : {}),
      conditions: [{ type: 'Ready', status: running ? 'True' : 'False' }],
      containerStatuses: opts.containers.map((c, i) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image.split(':')[0] ?? c.image}@sha256:${containerIdFor(`image/${c.image}`)}`,
        ready: running,
        restartCount: 0,
        started: running,
        state: running ? { running: { startedAt: new Date().toISOString() } } : { waiting: { reason: 'ContainerCreating' } },
        ...(running ? { containerID: `${c.runtime ?? 'containerd'}://${ids[i] ?? ''}` } : {}),
      })),
    },
  };
  return { pod, containerIds: ids };
}

export type WorkloadFixture = {
  readonly workload: KObject;
  /** the intermediate owner: ReplicaSet for a Deployment, Job for a CronJob */
  readonly intermediate?: KObject;
  readonly pods: readonly PodFixture[];
};

type WorkloadOpts = {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  containers?: readonly ContainerFixture[];
  replicas?: number;
  nodeName?: string;
};

const defaultContainers = (name: string): ContainerFixture[] => [{ name, image: `docker.io/library/${name}:1.0` }];

function createPods(api: K8sApiServer, owner: KObject, o: WorkloadOpts, podName: (i: number) => string, labels: Record<string, string>): PodFixture[] {
  const pods: PodFixture[] = [];
  for (let i = 0; i < (o.replicas ?? 1); i++) {
    const f = podObject(o.namespace, podName(i), {
      labels, owner, containers: o.containers ?? defaultContainers(o.name), ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
    });
    pods.push({ pod: api.create('pods', f.pod), containerIds: f.containerIds });
  }
  return pods;
}

export function createDeployment(api: K8sApiServer, o: WorkloadOpts): WorkloadFixture {
  const labels = o.labels ?? { app: o.name };
  const hash = hashSuffix(`rs/${o.namespace}/${o.name}`, 10);
  const workload = api.create('deployments', {
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: { replicas: o.replicas ?? 1, selector: { matchLabels: labels } },
  });
  const intermediate = api.create('replicasets', {
    metadata: { name: `${o.name}-${hash}`, namespace: o.namespace, labels: { ...labels, 'pod-template-hash': hash }, ownerReferences: [ownerRefOf(workload)] },
    spec: { replicas: o.replicas ?? 1, selector: { matchLabels: labels } },
  });
  const pods = createPods(api, intermediate, o, (i) => `${o.name}-${hash}-${hashSuffix(`${o.name}/${i}`, 5)}`,
    { ...labels, 'pod-template-hash': hash });
  return { workload, intermediate, pods };
}

function createSimple(api: K8sApiServer, resource: ResourceName, o: WorkloadOpts, podName: (i: number) => string): WorkloadFixture {
  const labels = o.labels ?? { app: o.name };
  const workload = api.create(resource, {
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: { selector: { matchLabels: labels } },
  });
  return { workload, pods: createPods(api, workload, o, podName, labels) };
}

export function createStatefulSet(api: K8sApiServer, o: WorkloadOpts): WorkloadFixture {
  return createSimple(api, 'statefulsets', o, (i) => `${o.name}-${i}`);
}

export function createDaemonSet(api: K8sApiServer, o: WorkloadOpts): WorkloadFixture {
  return createSimple(api, 'daemonsets', o, (i) => `${o.name}-${hashSuffix(`${o.name}/${i}`, 5)}`);
}

export function createCronJob(api: K8sApiServer, o: WorkloadOpts): WorkloadFixture {
  const labels = o.labels ?? { app: o.name };
  const workload = api.create('cronjobs', {
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: {} } },
  });
  const jobName = `${o.name}-29000000`;
  const intermediate = api.create('jobs', {
    metadata: { name: jobName, namespace: o.namespace, labels, ownerReferences: [ownerRefOf(workload)] },
    spec: {},
  });
  const pods = createPods(api, intermediate, o, (i) => `${jobName}-${hashSuffix(`${jobName}/${i}`, 5)}`,
    { ...labels, 'job-name': jobName });
  return { workload, intermediate, pods };
}

/** A Job with no CronJob above it. */
export function createJob(api: K8sApiServer, o: WorkloadOpts): WorkloadFixture {
  const labels = o.labels ?? { app: o.name };
  const workload = api.create('jobs', { metadata: { name: o.name, namespace: o.namespace, labels }, spec: {} });
  return { workload, pods: createPods(api, workload, o, (i) => `${o.name}-${hashSuffix(`${o.name}/${i}`, 5)}`, { ...labels, 'job-name': o.name }) };
}

export function createBarePod(api: K8sApiServer, namespace: string, name: string,
  opts: { labels?: Record<string, string>; containers?: readonly ContainerFixture[]; running?: boolean; nodeName?: string } = {}): PodFixture {
  const f = podObject(namespace, name, {
    labels: opts.labels ?? {}, containers: opts.containers ?? defaultContainers(name),
    ...(opts.running === undefined ? {} : { running: opts.running }),
    ...(opts.nodeName === undefined ? {} : { nodeName: opts.nodeName }),
  });
  return { pod: api.create('pods', f.pod), containerIds: f.containerIds };
}

export function createNamespace(api: K8sApiServer, name: string,
  opts: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): KObject {
  return api.create('namespaces', {
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...(opts.labels ?? {}) }, annotations: { ...(opts.annotations ?? {}) } },
    status: { phase: 'Active' },
  });
}

export function createNode(api: K8sApiServer, name: string, opts: { labels?: Record<string, string> } = {}): KObject {
  return api.create('nodes', {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(opts.labels ?? {}) } },
    status: {
      addresses: [{ type: 'InternalIP', address: '10.0.0.10' }, { type: 'Hostname', address: name }],
      nodeInfo: {
        kernelVersion: '6.18.0', osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.31.0', architecture: 'amd64', operatingSystem: 'linux',
      },
    },
  });
}
