// CustomResourceDefinitions generated from schema.ts: `spec` is the same JSON Schema the
// validator uses, made structural (toStructural). deploy/crds/*.yaml are this module's output
// (`palisade policy crds -o deploy/crds`); a unit test fails when the committed files drift.
import { stringify } from 'yaml';
import { API_VERSION, POLICY_KINDS } from './schema-enums.js';
import { specSchema, toStructural } from './schema.js';
import type { PolicyKind } from './types.js';

const NAMES: Readonly<Record<PolicyKind, { plural: string; singular: string; short: string; scope: 'Namespaced' | 'Cluster' }>> = {
  KubeArmorPolicy: { plural: 'kubearmorpolicies', singular: 'kubearmorpolicy', short: 'ksp', scope: 'Namespaced' },
  KubeArmorHostPolicy: { plural: 'kubearmorhostpolicies', singular: 'kubearmorhostpolicy', short: 'hsp', scope: 'Cluster' },
  KubeArmorClusterPolicy: { plural: 'kubearmorclusterpolicies', singular: 'kubearmorclusterpolicy', short: 'csp', scope: 'Cluster' },
};

const GROUP = API_VERSION.split('/')[0] as string;

export function crdObject(kind: PolicyKind): Record<string, unknown> {
  const n = NAMES[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${n.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind, listKind: `${kind}List`, plural: n.plural, singular: n.singular, shortNames: [n.short] },
      scope: n.scope,
      versions: [{
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Action', type: 'string', jsonPath: '.spec.action', priority: 10 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: `${kind} is a KubeArmor-compatible security policy (Palisade).`,
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: toStructural(specSchema(kind)),
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
            required: ['spec'],
          },
        },
      }],
    },
  };
}

export function crdFileName(kind: PolicyKind): string {
  return `${GROUP}_${NAMES[kind].plural}.yaml`;
}

/** The text of every CRD file, keyed by file name. */
export function renderCrds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const kind of POLICY_KINDS) {
    const header = '# Generated from enforcer/policy/schema.ts by `palisade policy crds -o deploy/crds`. Do not edit.\n';
    out.set(crdFileName(kind), header + stringify(crdObject(kind), { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  return out;
}
