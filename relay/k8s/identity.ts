// What enrichment adds to an event, in KubeArmor's terms (Alert/Log fields NamespaceName,
// PodName, Labels, Owner{Ref,Name,Namespace}, ContainerName, ContainerImage, HostName),
// and the pure functions that derive it from informer objects.
// Invariants: Labels is "k=v" pairs sorted by key and joined with ","; the owner is the
// top of the controller chain as KubeArmor reports it (ReplicaSet→Deployment,
// Job→CronJob; StatefulSet, DaemonSet and others as they are; a pod with no owner is
// its own owner with Ref "Pod"). These functions never throw on partial objects.
import type { KubernetesObject, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { ContainerRef } from './container-index.js';
import { formatLabels } from '../enrich/identity.js';

export type PodOwner = {
  /** kind: Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, or a custom kind */
  readonly ref: string;
  readonly name: string;
  readonly namespace: string;
};

export type ContainerIdentity = {
  readonly containerId: string;
  readonly containerName: string;
  /** KubeArmor's ContainerImage: image, plus "@<digest>" when the runtime reported one */
  readonly containerImage: string;
  readonly image: string;
  readonly imageId: string;
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  readonly nodeName: string;
  /** "a=b,c=d", sorted by key */
  readonly labels: string;
  readonly labelMap: Readonly<Record<string, string>>;
  readonly owner: PodOwner;
  /** false when part of the owner chain was not in the cache (owner is then the last link known) */
  readonly ownerComplete: boolean;
  /**
   * true when the container no longer exists (its pod was deleted, or it was replaced by a
   * restart): this is the identity it had, kept for config.deletedRetentionMs
   */
  readonly removed: boolean;
};

export type NamespacePosture = {
  /** kubearmor-file-posture etc.: "audit" | "block" as written; undefined when not annotated */
  readonly file: string | undefined;
  readonly network: string | undefined;
  readonly capabilities: string | undefined;
};

export type NamespaceInfo = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly posture: NamespacePosture;
  /** kubearmor-visibility, e.g. "process,file,network" */
  readonly visibility: string | undefined;
};

export type NodeInfo = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly internalIp: string | undefined;
  readonly kernelVersion: string | undefined;
  readonly osImage: string | undefined;
  readonly containerRuntime: string | undefined;
  readonly architecture: string | undefined;
};

/** A pod as discovery needs it (e.g. finding KubeArmor agents to pull from). */
export type PodSummary = {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly podIp: string | undefined;
  readonly phase: string | undefined;
  /** the Ready condition is True */
  readonly ready: boolean;
  readonly labels: Readonly<Record<string, string>>;
};

export function podSummaryOf(pod: V1Pod): PodSummary {
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    nodeName: pod.spec?.nodeName ?? '',
    podIp: pod.status?.podIP,
    phase: pod.status?.phase,
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    labels: { ...(pod.metadata?.labels ?? {}) },
  };
}

export function labelString(labels: Readonly<Record<string, string>> | undefined): string {
  return labels === undefined ? '' : formatLabels(labels);
}

/** KubeArmor's ContainerImage: "docker.io/library/nginx:1.27@sha256:…". */
export function containerImageOf(image: string, imageId: string): string {
  const at = imageId.lastIndexOf('@');
  const digest = at >= 0 ? imageId.slice(at + 1) : imageId.startsWith('sha256:') ? imageId : '';
  if (digest === '' || image.includes('@')) return image;
  return `${image}@${digest}`;
}

export function controllerRef(o: KubernetesObject | undefined): V1OwnerReference | undefined {
  const refs = o?.metadata?.ownerReferences;
  if (refs === undefined || refs.length === 0) return undefined;
  return refs.find((r) => r.controller === true) ?? refs[0];
}

/** Looks an owner up in the informer caches; undefined when it is not (yet) there. */
export type OwnerLookup = (kind: string, namespace: string, name: string) => KubernetesObject | undefined;

const MAX_OWNER_DEPTH = 4;
/** kinds whose own controller, if any, is reported instead of them (the only owner objects read) */
export const CLIMB_THROUGH: ReadonlySet<string> = new Set(['ReplicaSet', 'Job']);

export function resolveOwner(pod: V1Pod, lookup: OwnerLookup): { owner: PodOwner; complete: boolean } {
  const namespace = pod.metadata?.namespace ?? '';
  let ref = controllerRef(pod);
  if (ref === undefined) return { owner: { ref: 'Pod', name: pod.metadata?.name ?? '', namespace }, complete: true };
  for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
    if (!CLIMB_THROUGH.has(ref.kind)) break;
    const obj = lookup(ref.kind, namespace, ref.name);
    if (obj === undefined) return { owner: { ref: ref.kind, name: ref.name, namespace }, complete: false };
    const parent = controllerRef(obj);
    if (parent === undefined) break;
    ref = parent;
  }
  return { owner: { ref: ref.kind, name: ref.name, namespace }, complete: true };
}

export function buildIdentity(c: ContainerRef, pod: V1Pod, lookup: OwnerLookup): ContainerIdentity {
  const labels = pod.metadata?.labels ?? {};
  const { owner, complete } = resolveOwner(pod, lookup);
  return {
    containerId: c.id,
    containerName: c.name,
    containerImage: containerImageOf(c.image, c.imageId),
    image: c.image,
    imageId: c.imageId,
    namespace: c.namespace,
    pod: c.pod,
    podUid: pod.metadata?.uid ?? '',
    nodeName: pod.spec?.nodeName ?? '',
    labels: labelString(labels),
    labelMap: Object.freeze({ ...labels }),
    owner: Object.freeze(owner),
    ownerComplete: complete,
    removed: false,
  };
}

export function namespaceInfoOf(ns: KubernetesObject): NamespaceInfo {
  const annotations = ns.metadata?.annotations ?? {};
  return {
    name: ns.metadata?.name ?? '',
    labels: { ...(ns.metadata?.labels ?? {}) },
    annotations: { ...annotations },
    posture: {
      file: annotations['kubearmor-file-posture'],
      network: annotations['kubearmor-network-posture'],
      capabilities: annotations['kubearmor-capabilities-posture'],
    },
    visibility: annotations['kubearmor-visibility'],
  };
}

type NodeLike = KubernetesObject & {
  status?: {
    addresses?: ReadonlyArray<{ type?: string; address?: string }>;
    nodeInfo?: { kernelVersion?: string; osImage?: string; containerRuntimeVersion?: string; architecture?: string };
  };
};

export function nodeInfoOf(node: NodeLike): NodeInfo {
  const info = node.status?.nodeInfo;
  return {
    name: node.metadata?.name ?? '',
    labels: { ...(node.metadata?.labels ?? {}) },
    internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
    kernelVersion: info?.kernelVersion,
    osImage: info?.osImage,
    containerRuntime: info?.containerRuntimeVersion,
    architecture: info?.architecture,
  };
}
