// Tenancy configuration: who may see which namespaces. Read from one YAML or JSON
// file; off (everyone sees everything) when no file is configured.
//
//   tenants:
//     - name: team-a
//       namespaces: [team-a, team-a-staging]   # or ["*"] for every namespace
//       commonNames: [team-a]                  # mTLS client certificate subject CN
//       organizations: []                      # mTLS client certificate subject O
//       tokenSha256: [<64 hex>]                # bearer tokens, as SHA-256 hex digests
//       tokens: []                             # bearer tokens in clear (tests only)
//
// Invariants: parseAccessConfig() never throws; it returns every problem with the
// file and the path of the offending value. Tokens are kept only as digests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type Tenant = {
  readonly name: string;
  /** '*' alone means every namespace, including events with no namespace (host events, node messages). */
  readonly namespaces: readonly string[];
  readonly commonNames: readonly string[];
  readonly organizations: readonly string[];
  /** SHA-256 digests (lower-case hex) of the accepted bearer tokens. */
  readonly tokenSha256: readonly string[];
};

export type AccessConfig = {
  /** false: no checks, every caller sees every namespace (the embedded default). */
  readonly enabled: boolean;
  readonly tenants: readonly Tenant[];
};

export function defaultAccessConfig(): AccessConfig {
  return { enabled: false, tenants: [] };
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export type AccessConfigResult = { ok: true; value: AccessConfig } | { ok: false; problems: readonly string[] };

const NS = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\*)$/;

function strings(v: unknown, at: string, problems: string[], check?: (s: string) => string | undefined): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`${at}: expected a list of strings`);
    return [];
  }
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x !== 'string' || x === '') problems.push(`${at}[${i}]: expected a non-empty string, got ${JSON.stringify(x)}`);
    else {
      const bad = check?.(x);
      if (bad) problems.push(`${at}[${i}]: ${bad}`);
      else out.push(x);
    }
  });
  return out;
}

/** Checks a parsed document; `source` (the file) prefixes every problem. */
export function accessConfigFromDocument(doc: unknown, source: string): AccessConfigResult {
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, problems: [`${source}: expected a mapping with a "tenants" list`] };
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (k !== 'tenants') problems.push(`${source}: ${k}: unknown field (expected "tenants")`);
  if (!Array.isArray(d['tenants'])) return { ok: false, problems: [...problems, `${source}: tenants: expected a list`] };
  const tenants: Tenant[] = [];
  const names = new Set<string>();
  (d['tenants'] as unknown[]).forEach((t, i) => {
    const at = `${source}: tenants[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      problems.push(`${at}: expected a mapping`);
      return;
    }
    const r = t as Record<string, unknown>;
    const known = ['name', 'namespaces', 'commonNames', 'organizations', 'tokenSha256', 'tokens'];
    for (const k of Object.keys(r)) if (!known.includes(k)) problems.push(`${at}.${k}: unknown field (expected one of ${known.join(', ')})`);
    const name = typeof r['name'] === 'string' && r['name'] !== '' ? r['name'] : '';
    if (name === '') problems.push(`${at}.name: expected a non-empty string`);
    else if (names.has(name)) problems.push(`${at}.name: tenant ${JSON.stringify(name)} defined twice`);
    names.add(name);
    const namespaces = strings(r['namespaces'], `${at}.namespaces`, problems, (s) => (NS.test(s) ? undefined : `${JSON.stringify(s)} is not a namespace name (RFC 1123 label) or "*"`));
    if (namespaces.length === 0) problems.push(`${at}.namespaces: list at least one namespace, or "*"`);
    if (namespaces.includes('*') && namespaces.length > 1) problems.push(`${at}.namespaces: "*" already means every namespace; list it alone`);
    const commonNames = strings(r['commonNames'], `${at}.commonNames`, problems);
    const organizations = strings(r['organizations'], `${at}.organizations`, problems);
    const digests = strings(r['tokenSha256'], `${at}.tokenSha256`, problems, (s) => (/^[0-9a-fA-F]{64}$/.test(s) ? undefined : 'expected 64 hex digits (sha256sum of the token)'));
    const clear = strings(r['tokens'], `${at}.tokens`, problems, (s) => (s.length >= 16 ? undefined : 'a bearer token must have at least 16 characters'));
    const tokenSha256 = [...digests.map((s) => s.toLowerCase()), ...clear.map(sha256Hex)];
    if (commonNames.length + organizations.length + tokenSha256.length === 0) {
      problems.push(`${at}: give at least one of commonNames, organizations, tokenSha256, tokens (else nobody is this tenant)`);
    }
    tenants.push({ name, namespaces, commonNames, organizations, tokenSha256 });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { enabled: true, tenants } };
}

/** Reads the tenancy file; an empty path means access control is off. */
export function loadAccessConfig(file: string): AccessConfigResult {
  if (file === '') return { ok: true, value: defaultAccessConfig() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { ok: false, problems: [`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`] };
  }
  return accessConfigFromDocument(doc, file);
}
