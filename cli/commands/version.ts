// `palisade version`: the package version, Node.js version and kernel release.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

export const summary = 'print the Palisade, Node.js and kernel versions';

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'palisade' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      continue; // not at this depth: running from dist/ puts package.json one level higher
    }
  }
  return 'unknown';
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: palisade version\n');
    return 0;
  }
  process.stdout.write(`palisade ${packageVersion()} (node ${process.version}, kernel ${release()})\n`);
  return 0;
}
