// Random policies and operations over a small path vocabulary, for differential tests of the
// matcher (fast paths against the general path). Seeded and deterministic. The vocabulary is
// small so that exact paths, directories (recursive or not, nested), patterns, fromSource,
// readOnly/ownerOnly and the three actions collide often on the same operations.
import type { Operation, Policy, Rule, RuleTarget, SourceMatch } from '../../../enforcer/policy/types.js';

export type Rng = () => number;

export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x1_0000_0000; };
}

const SEGMENTS = ['etc', 'bin', 'usr', 'a', 'b', 'ab', 'x.conf', 'nginx', 'ü'];
const SOURCES = ['/bin/sh', '/usr/bin/cat', '/bin/bash'];
const ACTIONS = ['Allow', 'Audit', 'Block'] as const;

export type RandomSet = { readonly policies: readonly Policy[]; readonly ops: readonly Operation[] };

/**
 * `policies` policies of 1-4 rules each for the container workload {namespace default, app: web};
 * `ops` operations whose paths hit the rules' paths, lie below their directories, or miss.
 * `options` steer what appears: fromSource rules (disable the fast path of a class) and flags.
 */
export function randomSet(rand: Rng, policies: number, ops: number, options: { fromSource: number; flags: number; patterns: number }): RandomSet {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number): boolean => rand() < p;
  const path = (): string => `/${Array.from({ length: 1 + int(3) }, () => pick(SEGMENTS)).join('/')}`;
  const targets: string[] = [];
  const out: Policy[] = [];
  for (let i = 0; i < policies; i++) {
    const rules: Rule[] = [];
    for (let j = 0, n = 1 + int(4); j < n; j++) {
      const cls = chance(0.7) ? 'file' : 'process';
      let target: RuleTarget;
      const r = rand();
      if (r < options.patterns) target = { type: 'pattern', pattern: `${path()}${pick(['/*', '/**', '*', ''])}` };
      else if (r < 0.55) { const p = path(); targets.push(p); target = { type: 'path', path: p }; }
      else {
        const d = chance(0.1) ? '/' : `${path()}/`;
        targets.push(d);
        target = { type: 'dir', dir: d, recursive: chance(0.5) };
      }
      const fromSource: SourceMatch[] = chance(options.fromSource) ? [{ path: pick(SOURCES) }] : [];
      rules.push({
        class: cls, target, fromSource,
        readOnly: cls === 'file' && chance(options.flags), ownerOnly: chance(options.flags / 2),
        action: pick(ACTIONS), severity: 1 + int(10), tags: chance(0.3) ? ['T'] : [], message: chance(0.3) ? 'm' : '',
        policyName: `p${i}`, policyKind: 'KubeArmorPolicy', where: `spec.${cls}.rule[${j}]`,
      });
    }
    out.push({
      kind: 'KubeArmorPolicy', name: `p${i}`, namespace: 'default',
      selector: { kind: 'workload', namespace: 'default', matchLabels: { app: 'web' }, matchExpressions: [] },
      rules, origin: `random.yaml:${i + 1}:1`,
    });
  }
  const opPath = (): string => {
    const r = rand();
    if (r < 0.3 && targets.length > 0) return pick(targets);
    if (r < 0.6 && targets.length > 0) {
      const t = pick(targets);
      return `${t.endsWith('/') ? t : `${t}/`}${Array.from({ length: 1 + int(2) }, () => pick(SEGMENTS)).join('/')}`;
    }
    if (r < 0.65) return pick(['', '/', 'etc/a', '/etc//a', '/etc/a/', '//']);
    return path();
  };
  const list: Operation[] = [];
  for (let i = 0; i < ops; i++) {
    const source = chance(0.8) ? pick(SOURCES) : undefined;
    const owner = pick([undefined, true, false]);
    if (chance(0.7)) {
      const write = pick([undefined, true, false]);
      list.push({ class: 'file', path: opPath(), ...(source !== undefined ? { source } : {}), ...(write !== undefined ? { write } : {}), ...(owner !== undefined ? { owner } : {}) });
    } else {
      list.push({ class: 'process', path: opPath(), ...(source !== undefined ? { source } : {}), ...(owner !== undefined ? { owner } : {}) });
    }
  }
  return { policies: out, ops: list };
}
