// Runs a gated load generator (loadgen.c, capgen.c: they print "ready", wait for a line on
// stdin, run, print key=value lines) inside a cgroup: the benchmarks start it, move it into
// the cgroup they monitor, then let it go, so that only its work is measured.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** spawns `bin args`, moves it into the cgroup whose cgroup.procs file is `procsPath` once it
 * is ready, lets it go and resolves with its key=value output as numbers once it exited */
export async function runGated(bin: string, args: string[], procsPath: string): Promise<Record<string, number>> {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let out = '';
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => { ready = r; });
  lines.on('line', (l) => { if (l === 'ready') ready(); else out += l + '\n'; });
  const exited = new Promise((r) => child.on('exit', r));
  await Promise.race([isReady, exited]);
  writeFileSync(procsPath, String(child.pid));
  child.stdin.write('go\n');
  await exited;
  return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => {
    const [k, v] = l.split('=');
    return [k as string, Number(v)];
  }));
}
