// API access for the identity cache: loading credentials for the configured mode, and the
// resources it watches (path + list call of each, cluster-wide).
// Fails fast, before anything is served, with a message naming what is missing and where.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig,
  type KubernetesListObject, type KubernetesObject,
} from '@kubernetes/client-node';
import type { K8sIdentityConfig } from './config.js';

export type LoadResult = { ok: true; kubeConfig: KubeConfig; source: string } | { ok: false; error: string };

export function loadKubeConfig(c: K8sIdentityConfig, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const kc = new KubeConfig();
  if (c.mode === 'in-cluster') {
    if (env.KUBERNETES_SERVICE_HOST === undefined || env.KUBERNETES_SERVICE_PORT === undefined) {
      return { ok: false, error: 'k8s.mode "in-cluster": KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not running in a pod?); use mode "kubeconfig" or "none"' };
    }
    try {
      kc.loadFromCluster();
    } catch (err) {
      return { ok: false, error: `k8s.mode "in-cluster": ${err instanceof Error ? err.message : String(err)}` };
    }
    return { ok: true, kubeConfig: kc, source: 'in-cluster service account' };
  }
  if (c.mode !== 'kubeconfig') return { ok: false, error: `k8s.mode ${JSON.stringify(c.mode)}: no API access in this mode` };
  const path = c.kubeconfigPath ?? env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  if (!existsSync(path)) {
    return { ok: false, error: `k8s.kubeconfigPath: ${path} does not exist; set k8s.kubeconfigPath (or KUBECONFIG) to a kubeconfig file` };
  }
  try {
    kc.loadFromFile(path);
  } catch (err) {
    return { ok: false, error: `${path}: not a readable kubeconfig: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (c.context !== undefined) {
    if (kc.getContextObject(c.context) === null) {
      return { ok: false, error: `k8s.context: context ${JSON.stringify(c.context)} is not in ${path} (has: ${kc.getContexts().map((x) => x.name).join(', ') || 'none'})` };
    }
    kc.setCurrentContext(c.context);
  }
  if (kc.getCurrentCluster() === null) {
    return { ok: false, error: `${path}: current context ${JSON.stringify(kc.getCurrentContext())} names no cluster` };
  }
  return { ok: true, kubeConfig: kc, source: path };
}

export type WatchedResource =
  | 'pods' | 'namespaces' | 'nodes' | 'replicasets' | 'deployments' | 'statefulsets' | 'daemonsets' | 'jobs' | 'cronjobs';

export type ResourceAccess = {
  readonly resource: WatchedResource;
  /** the kind as owner references name it */
  readonly kind: string;
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<KubernetesObject>>;
};

export function resourceAccess(kc: KubeConfig): readonly ResourceAccess[] {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  return [
    { resource: 'pods', kind: 'Pod', path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() },
    { resource: 'namespaces', kind: 'Namespace', path: '/api/v1/namespaces', list: () => core.listNamespace() },
    { resource: 'nodes', kind: 'Node', path: '/api/v1/nodes', list: () => core.listNode() },
    { resource: 'replicasets', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets', list: () => apps.listReplicaSetForAllNamespaces() },
    { resource: 'deployments', kind: 'Deployment', path: '/apis/apps/v1/deployments', list: () => apps.listDeploymentForAllNamespaces() },
    { resource: 'statefulsets', kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets', list: () => apps.listStatefulSetForAllNamespaces() },
    { resource: 'daemonsets', kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets', list: () => apps.listDaemonSetForAllNamespaces() },
    { resource: 'jobs', kind: 'Job', path: '/apis/batch/v1/jobs', list: () => batch.listJobForAllNamespaces() },
    { resource: 'cronjobs', kind: 'CronJob', path: '/apis/batch/v1/cronjobs', list: () => batch.listCronJobForAllNamespaces() },
  ];
}
