// Data shapes of the policy engine: normalized policies and rules (after validation and
// inheritance), workloads, operations and decisions. Everything here is plain readonly data.
import type { ACTIONS, POLICY_KINDS } from './schema-enums.js';

export type Action = (typeof ACTIONS)[number];
export type PolicyKind = (typeof POLICY_KINDS)[number];
/** Operation classes. Process operations follow the file posture. */
export type OpClass = 'process' | 'file' | 'network' | 'capabilities' | 'syscalls';
export type Posture = 'audit' | 'block';
export type AlertType = 'MatchedPolicy' | 'MatchedHostPolicy' | 'DefaultPosture';

export type LabelExpression = { readonly key: string; readonly operator: 'In' | 'NotIn'; readonly values: readonly string[] };

export type Selector =
  | { readonly kind: 'workload'; readonly namespace: string; readonly matchLabels: Readonly<Record<string, string>>; readonly matchExpressions: readonly LabelExpression[] }
  | { readonly kind: 'node'; readonly matchLabels: Readonly<Record<string, string>>; readonly matchExpressions: readonly LabelExpression[] }
  | {
    readonly kind: 'cluster';
    /** key 'namespace' or 'label' (values 'k=v'). */
    readonly matchExpressions: readonly { readonly key: 'namespace' | 'label'; readonly operator: 'In' | 'NotIn'; readonly values: readonly string[] }[];
    readonly namespaceSelector: { readonly matchLabels: Readonly<Record<string, string>>; readonly matchExpressions: readonly LabelExpression[] };
  };

/** Who performs an operation: a source path rule (exact) or, for syscalls, a directory. */
export type SourceMatch = { readonly path: string } | { readonly dir: string; readonly recursive: boolean };

export type RuleTarget =
  | { readonly type: 'path'; readonly path: string }
  | { readonly type: 'dir'; readonly dir: string; readonly recursive: boolean }
  | { readonly type: 'pattern'; readonly pattern: string }
  | { readonly type: 'protocol'; readonly protocol: string }
  | { readonly type: 'capability'; readonly capability: string }
  | { readonly type: 'syscall'; readonly syscalls: readonly string[]; readonly path?: string; readonly dir?: string; readonly recursive: boolean };

/** One rule with everything inherited from its section and policy already resolved. */
export type Rule = {
  readonly class: OpClass;
  readonly target: RuleTarget;
  readonly fromSource: readonly SourceMatch[];
  readonly readOnly: boolean;
  readonly ownerOnly: boolean;
  readonly action: Action;
  readonly severity: number;
  readonly tags: readonly string[];
  readonly message: string;
  readonly policyName: string;
  readonly policyKind: PolicyKind;
  /** spec path of the rule, e.g. `spec.file.matchDirectories[0]` (for diagnostics). */
  readonly where: string;
};

export type Policy = {
  readonly kind: PolicyKind;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly selector: Selector;
  readonly rules: readonly Rule[];
  /** file:line:col of the document, when parsed from a file. */
  readonly origin: string;
};

export type Workload =
  | {
    readonly kind: 'container';
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly namespaceLabels?: Readonly<Record<string, string>>;
    /** Namespace annotations; kubearmor-*-posture are read from here. */
    readonly namespaceAnnotations?: Readonly<Record<string, string>>;
  }
  | { readonly kind: 'host'; readonly nodeLabels: Readonly<Record<string, string>> };

/** Global default posture (KubeArmor's defaultFilePosture and friends); `audit` by default. */
export type GlobalPosture = { readonly file: Posture; readonly network: Posture; readonly capabilities: Posture };

export type Operation =
  | { readonly class: 'process'; readonly path: string; readonly source?: string; readonly owner?: boolean }
  | { readonly class: 'file'; readonly path: string; readonly source?: string; readonly write?: boolean; readonly owner?: boolean }
  | { readonly class: 'network'; readonly protocol: string; readonly source?: string }
  | { readonly class: 'capabilities'; readonly capability: string; readonly source?: string }
  | { readonly class: 'syscalls'; readonly syscall: string; readonly path?: string; readonly source?: string };

export type Decision = {
  /** true when a rule or the default posture decided (an alert is due unless action is Allow). */
  readonly matched: boolean;
  /** Allow: the operation proceeds silently; Audit: proceeds with an alert; Block: denied with an alert. */
  readonly action: Action;
  readonly type?: AlertType;
  readonly policyName?: string;
  readonly severity?: number;
  readonly tags: readonly string[];
  readonly message?: string;
};
