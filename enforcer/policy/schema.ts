// The single source of truth for what a KubeArmor policy document may contain.
// `documentSchema(kind)` validates a whole document (ajv, draft-07 subset) and `crdSpecSchema(kind)`
// is the same tree emitted as the CRD's openAPIV3Schema (see crd.ts), minus what Kubernetes'
// structural schemas forbid (`additionalProperties: false` next to `properties`).
// Invariants: only keywords valid in both JSON Schema draft-07 and Kubernetes openAPIV3Schema
// are used (type, properties, required, items, enum, pattern, allOf of patterns, minimum,
// maximum, maxLength, maxItems, additionalProperties); every regular expression is valid
// in both ECMAScript (unicode mode) and RE2; every pattern has a human message in PATTERN_MESSAGES.
import { ACTIONS, API_VERSION, CAPABILITIES, PROTOCOLS, SYSCALLS } from './schema-enums.js';
import type { PolicyKind } from './types.js';

export type JsonSchema = { readonly [key: string]: unknown };

/** Message shown when a string fails `pattern`, keyed by the pattern's source. */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  '^/': "must be an absolute path (start with '/')",
  '[^/]$': "must not end with '/' (use matchDirectories for directories)",
  '/$': "must end with '/'",
  '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$': "must be a lower-case DNS name (a-z, 0-9, '-', '.'), starting and ending with a letter or digit",
  '^[^\\x00]*$': 'must not contain NUL characters',
};

export const LIMITS = {
  path: 4096,
  name: 253,
  text: 4096,
  items: 4096,
  tags: 64,
} as const;

const NO_NUL = '^[^\\x00]*$';

const str = (maxLength: number = LIMITS.text): JsonSchema => ({ type: 'string', maxLength });
const arr = (items: JsonSchema, maxItems: number = LIMITS.items): JsonSchema => ({ type: 'array', maxItems, items });
const obj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});
const patterns = (...ps: string[]): JsonSchema => ({ allOf: ps.map((pattern) => ({ pattern })) });

const absFile: JsonSchema = { ...str(LIMITS.path), ...patterns('^/', '[^/]$', NO_NUL) };
const absDir: JsonSchema = { ...str(LIMITS.path), ...patterns('^/', '/$', NO_NUL) };
const absAny: JsonSchema = { ...str(LIMITS.path), ...patterns('^/', NO_NUL) };

const action: JsonSchema = { type: 'string', enum: [...ACTIONS] };
const severity: JsonSchema = { type: 'integer', minimum: 1, maximum: 10 };
const tags: JsonSchema = arr(str(256), LIMITS.tags);

/** Fields every rule, every section and the spec may carry (inherited downwards). */
const meta = (): Record<string, JsonSchema> => ({ severity, tags, message: str(), action });

const fromSourcePath = arr(obj({ path: absFile }, ['path']));
const fromSourcePathOrDir = arr(obj({ path: absFile, dir: absDir, recursive: { type: 'boolean' } }));

function processSection(): JsonSchema {
  return obj({
    matchPaths: arr(obj({ path: absFile, ownerOnly: { type: 'boolean' }, fromSource: fromSourcePath, ...meta() }, ['path'])),
    matchDirectories: arr(obj({
      dir: absDir, recursive: { type: 'boolean' }, ownerOnly: { type: 'boolean' }, fromSource: fromSourcePath, ...meta(),
    }, ['dir'])),
    matchPatterns: arr(obj({ pattern: { ...str(1024), ...patterns(NO_NUL) }, ownerOnly: { type: 'boolean' }, ...meta() }, ['pattern'])),
    ...meta(),
  });
}

function fileSection(): JsonSchema {
  const flags = { readOnly: { type: 'boolean' }, ownerOnly: { type: 'boolean' } };
  return obj({
    matchPaths: arr(obj({ path: absFile, ...flags, fromSource: fromSourcePath, ...meta() }, ['path'])),
    matchDirectories: arr(obj({
      dir: absDir, recursive: { type: 'boolean' }, ...flags, fromSource: fromSourcePath, ...meta(),
    }, ['dir'])),
    matchPatterns: arr(obj({ pattern: { ...str(1024), ...patterns(NO_NUL) }, ...flags, ...meta() }, ['pattern'])),
    ...meta(),
  });
}

function networkSection(): JsonSchema {
  const protocol = { type: 'string', enum: PROTOCOLS.flatMap((p) => [p, p.toUpperCase()]) };
  return obj({
    matchProtocols: arr(obj({ protocol, fromSource: fromSourcePath, ...meta() }, ['protocol'])),
    ...meta(),
  }, ['matchProtocols']);
}

function capabilitiesSection(): JsonSchema {
  const capability = { type: 'string', enum: [...CAPABILITIES] };
  return obj({
    matchCapabilities: arr(obj({ capability, fromSource: fromSourcePath, ...meta() }, ['capability'])),
    ...meta(),
  }, ['matchCapabilities']);
}

function syscallsSection(): JsonSchema {
  const syscall = arr({ type: 'string', enum: [...SYSCALLS] }, 512);
  return obj({
    matchSyscalls: arr(obj({ syscall, fromSource: fromSourcePathOrDir, ...meta() }, ['syscall'])),
    matchPaths: arr(obj({
      path: absAny, recursive: { type: 'boolean' }, syscall, fromSource: fromSourcePathOrDir, ...meta(),
    }, ['path'])),
    ...meta(),
  });
}

const labelMap: JsonSchema = { type: 'object', maxProperties: 256, additionalProperties: str(LIMITS.text) };
const labelSelector = (): JsonSchema => obj({
  matchLabels: labelMap,
  matchExpressions: arr(obj({
    key: str(317),
    operator: { type: 'string', enum: ['In', 'NotIn'] },
    values: arr(str(LIMITS.text), 1024),
  }, ['key', 'operator']), 256),
});
const clusterSelector = (): JsonSchema => obj({
  matchExpressions: arr(obj({
    key: { type: 'string', enum: ['namespace', 'label'] },
    operator: { type: 'string', enum: ['In', 'NotIn'] },
    values: arr(str(LIMITS.text), 1024),
  }, ['key', 'operator']), 256),
});

/** The `spec` object of one policy kind. */
export function specSchema(kind: PolicyKind): JsonSchema {
  const selectorFields: Record<string, JsonSchema> =
    kind === 'KubeArmorHostPolicy' ? { nodeSelector: labelSelector() }
      : kind === 'KubeArmorClusterPolicy' ? { selector: clusterSelector(), namespaceSelector: labelSelector() }
        : { selector: labelSelector() };
  return obj({
    ...selectorFields,
    process: processSection(),
    file: fileSection(),
    network: networkSection(),
    capabilities: capabilitiesSection(),
    syscalls: syscallsSection(),
    ...meta(),
  });
}

/** The whole document of one policy kind, as validated before compilation. */
export function documentSchema(kind: PolicyKind): JsonSchema {
  const metadataProps: Record<string, JsonSchema> = {
    name: { ...str(LIMITS.name), ...patterns('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$') },
    labels: labelMap,
    annotations: labelMap,
  };
  if (kind !== 'KubeArmorHostPolicy') {
    metadataProps.namespace = { ...str(63), ...patterns('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$') };
  }
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string', enum: [API_VERSION] },
      kind: { type: 'string', enum: [kind] },
      metadata: { type: 'object', properties: metadataProps, required: ['name'] },
      spec: specSchema(kind),
      status: { type: 'object' },
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
  };
}

/** Removes what a structural openAPIV3Schema must not contain; returns a deep copy. */
export function toStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = toStructural(value);
  }
  return out;
}
