// One chunk of the policy fuzz (see fuzz.test.ts): generates and mutates documents and runs
// each through parse -> validate -> compile -> decide. Runs in a worker thread (started through
// fuzz-boot.mjs) or inline; a failure is returned as text with the seed, iteration and input.
import assert from 'node:assert/strict';
import { parentPort, workerData } from 'node:worker_threads';
import { compileTables } from '../../../enforcer/policy/compile.js';
import { formatIssue, type PolicyIssue } from '../../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { createMatcher } from '../../../enforcer/policy/matcher.js';
import { CAPABILITIES, PROTOCOLS, SYSCALLS } from '../../../enforcer/policy/schema-enums.js';
import type { Operation } from '../../../enforcer/policy/types.js';

export type FuzzResult = { count: number; valid: number; invalid: number; slowestMs: number; slowestInput: string; failure?: string };

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x1_0000_0000; };
}
let rand = rng(1);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const chance = (p: number): boolean => rand() < p;

const SEGMENTS = ['etc', 'bin', 'usr', 'nginx', 'secrets', 'a', 'b', 'sh', 'passwd'];
const ODD_SEGMENTS = ['..', '.', '', 'x y', 'ü', '*', '**', '{a,b}', '[ab]', '\\', '#', ': '];
const seg = (): string => (chance(0.97) ? pick(SEGMENTS) : pick(ODD_SEGMENTS));
const path = (): string => (chance(0.02) ? pick(['', 'rel/x', '/x/']) : '/' + Array.from({ length: 1 + int(4) }, seg).join('/'));
const dir = (): string => (chance(0.9) ? path().replace(/\/?$/, '/') : path());
const junk = (): unknown => pick<unknown>([null, true, 0, -1, 11, 3.5, '', 'x', [], {}, [1, [2]], { a: { b: 1 } }, '0x10', 'yes', '~']);
const maybe = <T>(v: () => T, p = 0.5): T | undefined => (chance(p) ? v() : undefined);
const actions = ['Allow', 'Audit', 'Block', 'Allow', 'Audit', 'Block', 'Allow', 'Audit', 'Block', 'block', 'Deny', ''];

function meta(): Record<string, unknown> {
  return { severity: maybe(() => (chance(0.9) ? 1 + int(10) : pick([0, 11, '3', 2.5])), 0.1), tags: maybe(() => [pick(['MITRE', 'x', ''])], 0.05), message: maybe(() => 'm', 0.05), action: maybe(() => pick(actions), 0.1) };
}
function fromSource(): unknown { return maybe(() => Array.from({ length: int(3) }, () => (chance(0.97) ? { path: path() } : { dir: dir(), recursive: chance(0.5) })), 0.15); }
function pathRules(file: boolean): Record<string, unknown> {
  const flags = (): Record<string, unknown> => ({ ownerOnly: maybe(() => chance(0.5), 0.2), readOnly: file ? maybe(() => chance(0.5), 0.2) : undefined });
  return {
    matchPaths: maybe(() => Array.from({ length: 1 + (chance(0.7) ? 0 : int(2)) }, () => ({ path: path(), ...flags(), fromSource: fromSource(), ...meta() }))),
    matchDirectories: maybe(() => Array.from({ length: 1 + (chance(0.7) ? 0 : int(2)) }, () => ({ dir: dir(), recursive: maybe(() => chance(0.5)), ...flags(), fromSource: fromSource(), ...meta() }))),
    matchPatterns: maybe(() => Array.from({ length: 1 + int(1) }, () => ({ pattern: path() + pick(['', '*', '/**', '?', '[ab]', '{x,y}', '[', '{', '}']), ...flags(), ...meta() })), 0.3),
    ...meta(),
  };
}

function generate(): unknown {
  const kind = chance(0.03) ? 'Other' : pick(['KubeArmorPolicy', 'KubeArmorHostPolicy', 'KubeArmorClusterPolicy', 'KubeArmorPolicy']);
  const spec: Record<string, unknown> = { ...meta() };
  if (kind === 'KubeArmorHostPolicy') spec.nodeSelector = { matchLabels: { 'kubernetes.io/os': 'linux' } };
  else if (kind === 'KubeArmorClusterPolicy') spec.selector = { matchExpressions: [{ key: pick(['namespace', 'namespace', 'label', 'pod']), operator: pick(['In', 'NotIn', 'In', 'Exists']), values: [pick(['default', 'app=web', 'x'])] }] };
  else spec.selector = maybe(() => ({ matchLabels: { app: pick(['web', 'nginx']) }, matchExpressions: maybe(() => [{ key: 'env', operator: pick(['In', 'NotIn']), values: ['prod'] }]) }));
  const sections = int(4);
  if (sections === 0 || sections === 3) spec.process = pathRules(false);
  if (sections >= 1) spec.file = pathRules(true);
  if (chance(0.15)) spec.network = { matchProtocols: [{ protocol: pick([...PROTOCOLS, 'TCP', 'http']), fromSource: fromSource(), ...meta() }] };
  if (chance(0.15)) spec.capabilities = { matchCapabilities: [{ capability: pick([...CAPABILITIES, 'CAP_NET_RAW']), fromSource: fromSource() }] };
  if (chance(0.1)) spec.syscalls = { matchSyscalls: [{ syscall: [pick(SYSCALLS), pick(['unlink', 'nope'])], fromSource: fromSource() }], matchPaths: maybe(() => [{ path: pick([path(), dir()]), recursive: chance(0.5), syscall: [pick(SYSCALLS)] }]) };
  const doc: Record<string, unknown> = { apiVersion: chance(0.95) ? 'security.kubearmor.com/v1' : 'v1', kind, metadata: { name: chance(0.95) ? pick(['p', 'nginx-policy', 'a.b']) : pick(['Bad_Name', '']), namespace: maybe(() => pick(['default', 'shop'])) }, spec };
  // structural damage: replace a random value somewhere with junk
  if (chance(0.15)) {
    let node: unknown = doc;
    for (let d = 0; d < 6 && node && typeof node === 'object'; d++) {
      const keys = Object.keys(node as object);
      if (keys.length === 0) break;
      const k = pick(keys);
      if (chance(0.3) || typeof (node as Record<string, unknown>)[k] !== 'object') { (node as Record<string, unknown>)[k] = junk(); break; }
      node = (node as Record<string, unknown>)[k];
    }
  }
  return JSON.parse(JSON.stringify(doc)) as unknown; // drop undefined
}

const TOKENS = ['\n', ' ', '  ', '-', '- ', ':', ': ', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '!!binary ', '? ', '|', '>', '#', '"', "'", '\t', '---\n', '...\n', '%YAML 1.2\n', '\u0000', '\uFEFF', 'path: /', 'dir: /', '<<: *a', '\\'];

function mutateText(src: string): string {
  let s = src;
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    const at = int(s.length + 1);
    switch (int(7)) {
      case 0: s = s.slice(0, at) + pick(TOKENS) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(20)); break;
      case 2: { const lines = s.split('\n'); const j = int(lines.length); lines.splice(j, 0, lines[int(lines.length)] ?? ''); s = lines.join('\n'); break; }
      case 3: { const lines = s.split('\n'); const j = int(lines.length); lines[j] = ' '.repeat(int(6)) + (lines[j] ?? '').trimStart(); s = lines.join('\n'); break; }
      case 4: s = s.slice(0, at) + String.fromCharCode(int(0x3000)) + s.slice(at); break;
      case 5: s = s + '\n---\n' + s.slice(0, int(s.length)); break;
      default: { const a = int(s.length); s = s.slice(0, at) + s.slice(a, a + int(30)) + s.slice(at); }
    }
  }
  return s;
}

const SEEDS = [
  'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n    name: block-pkg-mgmt-tools-exec\nspec:\n    selector:\n        matchLabels:\n            app: nginx\n    process:\n        matchPaths:\n        - path: /usr/bin/apt\n        - path: /usr/bin/apt-get\n    action:\n        Block\n',
  'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: only-allow-nginx-exec\nspec:\n  selector:\n    matchLabels:\n      app: nginx\n  file:\n    matchDirectories:\n    - dir: /\n      recursive: true\n  process:\n    matchPaths:\n    - path: /usr/sbin/nginx\n    - path: /bin/bash\n  action:\n    Allow\n',
  'a: &a [1, 2]\nb: [*a, *a]\nc: { d: [ { e: f } ] }\n',
];

const OPS: readonly Operation[] = [
  { class: 'process', path: '/usr/bin/apt', source: '/bin/bash' },
  { class: 'file', path: '/etc/nginx/nginx.conf', write: true, owner: false },
  { class: 'file', path: '/a/b/etc/x', source: '/bin/cat' },
  { class: 'network', protocol: 'tcp', source: '/usr/bin/curl' },
  { class: 'capabilities', capability: 'net_raw' },
  { class: 'syscalls', syscall: 'unlink', path: '/etc/x', source: '/bin/rm' },
];


const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./ -]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|y|n)$/i;

/** A small YAML emitter (block style, random flow subtrees); much cheaper than yaml.stringify. */
function emit(v: unknown, indent: string): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') && !v.includes(' #') ? v : JSON.stringify(v);
    return String(v);
  }
  if (chance(0.1)) return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return v.map((x) => `\n${indent}- ${emit(x, indent + '  ').replace(/^\n\s*/, '')}`).join('');
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return entries.map(([k, x]) => {
    const val = emit(x, indent + '  ');
    return `\n${indent}${PLAIN.test(k) ? k : JSON.stringify(k)}:${val.startsWith('\n') ? '' : ' '}${val}`;
  }).join('');
}
const toYaml = (v: unknown): string => `${emit(v, '').replace(/^\n/, '')}\n`;

function checkIssue(i: PolicyIssue, file: string, lines: number): void {
  assert.equal(i.file, file);
  assert.ok(Number.isInteger(i.line) && i.line >= 1 && i.line <= lines + 1, `line ${i.line} of ${lines}`);
  assert.ok(Number.isInteger(i.col) && i.col >= 1, `col ${i.col}`);
  assert.ok(i.severity === 'error' || i.severity === 'warning');
  assert.equal(typeof i.path, 'string');
  assert.ok(typeof i.message === 'string' && i.message.length > 0 && i.message.length < 2000, 'message');
  const text = formatIssue(i);
  assert.ok(!text.includes('\n'), `multi-line issue: ${text}`);
  assert.ok(text.startsWith(`${file}:${i.line}:${i.col} `));
}


export function runFuzzChunk(seed: number, count: number): FuzzResult {
  rand = rng(seed);
  loadPolicySource(SEEDS[0] as string, 'warm-up.yaml'); // compiles the validators outside the timings
  // yaml builds an Error per syntax problem; stack capture dominates on broken inputs, and a
  // failure is re-run below with stacks on.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const pool: string[] = [...SEEDS];
  const res: FuzzResult = { count: 0, valid: 0, invalid: 0, slowestMs: 0, slowestInput: '' };
  for (let it = 0; it < count; it++) {
    let src: string;
    const mode = int(20);
    if (mode < 9) src = toYaml(generate());
    else if (mode < 19) src = mutateText(pick(pool));
    else src = Array.from({ length: 2 }, () => toYaml(generate())).join('---\n');
    if (chance(0.05) && pool.length < 500 && mode < 9 && src.length < 400) pool.push(src);
    const t0 = performance.now();
    try {
      const r = loadPolicySource(src, 'fuzz.yaml');
      const lines = src.split('\n').length;
      for (const i of r.issues) checkIssue(i, 'fuzz.yaml', lines);
      if (r.policies.length > 0) {
        res.valid++;
        const m = createMatcher(compileTables(r.policies, { kind: 'container', namespace: 'default', labels: { app: 'nginx' } }));
        for (const op of OPS) {
          const d = m.decide(op);
          assert.ok(d.action === 'Allow' || d.action === 'Audit' || d.action === 'Block');
        }
        if (r.policies.some((p) => p.kind === 'KubeArmorHostPolicy')) {
          const h = createMatcher(compileTables(r.policies, { kind: 'host', nodeLabels: { 'kubernetes.io/os': 'linux' } }));
          for (const op of OPS) h.decide(op);
        }
      }
      if (r.issues.some((i) => i.severity === 'error')) res.invalid++;
    } catch (first) {
      Error.stackTraceLimit = stackLimit;
      let err: unknown = first;
      try { const r = loadPolicySource(src, 'fuzz.yaml'); for (const i of r.issues) checkIssue(i, 'fuzz.yaml', src.split('\n').length); } catch (again) { err = again; }
      res.failure = `seed ${seed} iteration ${it}: ${err instanceof Error ? err.stack : String(err)}\ninput: ${JSON.stringify(src)}`;
      return res;
    }
    const ms = performance.now() - t0;
    if (ms > res.slowestMs) { res.slowestMs = ms; res.slowestInput = src.slice(0, 200); }
    res.count++;
  }
  Error.stackTraceLimit = stackLimit;
  return res;
}

const job = workerData as { seed?: number; count?: number } | null;
if (parentPort && job && typeof job.seed === 'number' && typeof job.count === 'number') {
  parentPort.postMessage(runFuzzChunk(job.seed, job.count));
}
