// `palisade policy`: validate KubeArmor policy files, show compiled tables, regenerate CRDs.
//   validate [-f] <file|dir|-> ... every problem as `file:line:col field.path: message`;
//                                  exit 0 valid, 1 invalid, 2 usage error or unreadable input
//   compile  [-f] ... [--namespace ns] [--labels k=v,..] [--host --node-labels k=v,..] [--json]
//   crds     -o <dir> [--check]    write deploy/crds/*.yaml (or exit 1 if they differ)
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileTables } from '../../enforcer/policy/compile.js';
import { renderCrds } from '../../enforcer/policy/crd.js';
import { formatIssue, type PolicyIssue } from '../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../enforcer/policy/load.js';
import { PARSE_LIMITS } from '../../enforcer/policy/parse-yaml.js';
import { tablesToJSON } from '../../enforcer/policy/tables.js';
import type { Policy, Workload } from '../../enforcer/policy/types.js';

export const summary = 'validate and compile KubeArmor policies, generate the CRDs';

const HELP = `usage: palisade policy <validate|compile|crds> [options]

  validate [-f] <file|dir|-> ...       check policies; prints every problem as
                                        file:line:col field.path: message
                                        exit 0 valid, 1 invalid, 2 usage or read error
  compile  [-f] <file|dir|-> ...       compile for one workload and print a summary
           [--namespace NS] [--labels k=v,...] [--ns-annotations k=v,...]
           [--host] [--node-labels k=v,...] [--json]
  crds     -o <dir> [--check]          write the CRDs generated from the schema
                                        (--check: exit 1 when <dir> differs)

  Policy files are given with -f (as with kubectl) or as plain arguments.
`;

const MAX_FILES = 10_000;

function collectFiles(target: string, out: string[]): string | undefined {
  if (target === '-') { out.push('-'); return undefined; }
  let st;
  try { st = statSync(target); } catch (err) { return `${target}: cannot read: ${(err as Error).message}`; }
  if (st.isDirectory()) {
    const stack = [target];
    while (stack.length > 0 && out.length < MAX_FILES) {
      const dir = stack.pop() as string;
      for (const name of readdirSync(dir).sort()) {
        const full = join(dir, name);
        const s = statSync(full);
        if (s.isDirectory()) stack.push(full);
        else if (/\.ya?ml$/.test(name)) out.push(full);
      }
    }
    return undefined;
  }
  out.push(target);
  return undefined;
}

function readSource(file: string): string | { error: string } {
  try {
    if (file === '-') return readFileSync(0, 'utf8');
    const size = statSync(file).size;
    if (size > PARSE_LIMITS.maxSourceLength) return { error: `${file}: ${size} bytes, more than the limit of ${PARSE_LIMITS.maxSourceLength}` };
    return readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `${file}: cannot read: ${(err as Error).message}` };
  }
}

function parseKv(list: string | undefined, what: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  if (!list) return out;
  for (const item of list.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) return `--${what}: '${item}' is not key=value`;
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

type Loaded = { policies: Policy[]; issues: PolicyIssue[]; docs: number } | { usage: string };

function loadAll(targets: string[]): Loaded {
  const files: string[] = [];
  for (const t of targets) {
    const err = collectFiles(t, files);
    if (err) return { usage: err };
  }
  if (files.length === 0) return { usage: 'no policy files found (.yaml or .yml)' };
  const policies: Policy[] = [];
  const issues: PolicyIssue[] = [];
  for (const f of files) {
    const src = readSource(f);
    if (typeof src !== 'string') return { usage: src.error };
    const r = loadPolicySource(src, f === '-' ? '<stdin>' : f);
    policies.push(...r.policies);
    issues.push(...r.issues);
  }
  return { policies, issues, docs: policies.length };
}

function usage(message: string): number {
  process.stderr.write(`palisade policy: ${message}\n${HELP}`);
  return 2;
}

/** The policy files named with -f and as plain arguments, in that order. */
function targetsOf(files: string[] | undefined, positionals: string[]): string[] {
  return [...(files ?? []), ...positionals];
}

async function validate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { file: { type: 'string', short: 'f', multiple: true }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  if (values.help) { process.stdout.write(HELP); return 0; }
  const targets = targetsOf(values.file, positionals);
  if (targets.length === 0) return usage('validate needs policy files: [-f] <file|dir|->');
  const r = loadAll(targets);
  if ('usage' in r) { process.stderr.write(`palisade policy validate: ${r.usage}\n`); return 2; }
  for (const i of r.issues) process.stderr.write(`${formatIssue(i)}\n`);
  const errors = r.issues.filter((i) => i.severity === 'error').length;
  const warnings = r.issues.length - errors;
  process.stdout.write(`${r.docs} valid ${r.docs === 1 ? 'policy' : 'policies'}, ${errors} ${errors === 1 ? 'error' : 'errors'}, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`);
  return errors > 0 ? 1 : 0;
}

async function compile(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', short: 'f', multiple: true }, namespace: { type: 'string' }, labels: { type: 'string' },
      'ns-annotations': { type: 'string' }, host: { type: 'boolean' }, 'node-labels': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) { process.stdout.write(HELP); return 0; }
  const targets = targetsOf(values.file, positionals);
  if (targets.length === 0) return usage('compile needs policy files: [-f] <file|dir|->');
  const labels = parseKv(values.labels, 'labels');
  const nodeLabels = parseKv(values['node-labels'], 'node-labels');
  const ann = parseKv(values['ns-annotations'], 'ns-annotations');
  for (const v of [labels, nodeLabels, ann]) if (typeof v === 'string') return usage(v);
  const r = loadAll(targets);
  if ('usage' in r) { process.stderr.write(`palisade policy compile: ${r.usage}\n`); return 2; }
  for (const i of r.issues) process.stderr.write(`${formatIssue(i)}\n`);
  if (r.issues.some((i) => i.severity === 'error')) return 1;
  const workload: Workload = values.host
    ? { kind: 'host', nodeLabels: nodeLabels as Record<string, string> }
    : { kind: 'container', namespace: values.namespace ?? 'default', labels: labels as Record<string, string>, namespaceAnnotations: ann as Record<string, string> };
  const t0 = process.hrtime.bigint();
  const tables = compileTables(r.policies, workload);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(tablesToJSON(tables), null, 2)}\n`);
    return 0;
  }
  const lines = [
    `workload ${tables.workload}: ${tables.rules.length} rules from ${new Set(tables.rules.map((x) => x.policyName)).size} policies (compiled in ${ms.toFixed(2)} ms)`,
    `posture: file=${tables.posture.file} network=${tables.posture.network} capabilities=${tables.posture.capabilities}`,
  ];
  for (const cls of ['process', 'file'] as const) {
    const c = tables[cls];
    lines.push(`${cls}: exact=${c.any.exact.size} dirs=${c.any.dirs.length - 1} patterns=${c.any.patterns.length} sources=${c.bySource.size} least-permissive=${c.allowAll ? 'all' : c.allowSources.size > 0 ? [...c.allowSources].join(',') : 'no'}`);
  }
  for (const cls of ['network', 'capabilities'] as const) {
    const c = tables[cls];
    lines.push(`${cls}: keys=${[...c.any.keys()].join(',') || '-'} sources=${c.bySource.size} least-permissive=${c.allowAll ? 'all' : c.allowSources.size > 0 ? [...c.allowSources].join(',') : 'no'}`);
  }
  lines.push(`syscalls: ${tables.syscalls.length} rules`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function crds(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', short: 'o' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (!values.out) return usage('crds needs -o <dir>');
  const files = renderCrds();
  if (values.check) {
    let drift = 0;
    for (const [name, text] of files) {
      let current: string;
      try { current = readFileSync(join(values.out, name), 'utf8'); } catch { current = ''; /* missing counts as drift */ }
      if (current !== text) { process.stderr.write(`${join(values.out, name)}: differs from the schema; run 'palisade policy crds -o ${values.out}'\n`); drift++; }
    }
    return drift > 0 ? 1 : 0;
  }
  mkdirSync(values.out, { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(join(values.out, name), text);
    process.stdout.write(`wrote ${join(values.out, name)}\n`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'validate': return await validate(rest);
      case 'compile': return await compile(rest);
      case 'crds': return await crds(rest);
      case undefined: case '--help': case '-h': case 'help':
        process.stdout.write(HELP);
        return sub === undefined ? 2 : 0;
      default: return usage(`unknown subcommand '${sub}'`);
    }
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return usage((err as Error).message);
    throw err;
  }
}
