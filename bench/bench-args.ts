// Command-line options of the benchmark scripts: node:util parseArgs (strict) plus --help.
// The usage text is the script's own leading comment block, so it cannot drift from the
// header every script already keeps. A wrong option or value prints what is wrong and the
// usage on stderr and exits 2, instead of a stack trace.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The `//` comment lines at the top of the script at `scriptUrl`, without the slashes. */
export function leadingComment(scriptUrl: string): string {
  const lines: string[] = [];
  for (const line of readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n') + '\n';
}

type Values<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>['values'];

/**
 * Parses process.argv for a benchmark script. `--help`/`-h` prints the script's leading
 * comment and exits 0; an unknown option, a missing value or a stray argument exits 2
 * with the parser's message (which names the option).
 */
export function benchArgs<T extends ParseArgsConfig>(scriptUrl: string, config: T): Values<T> {
  const withHelp = { ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } } as const;
  let values: Record<string, unknown>;
  try {
    values = parseArgs(withHelp).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${leadingComment(scriptUrl)}`);
    process.exit(2);
  }
  if (values['help'] === true) {
    process.stdout.write(leadingComment(scriptUrl));
    process.exit(0);
  }
  delete values['help'];
  return values as Values<T>;
}

/**
 * An integer option: `raw` (or `fallback` when absent) as an integer within [min, max];
 * otherwise exits 2 naming the option.
 */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`--${name}: ${JSON.stringify(raw)} is not an integer in ${min}..${max}\n`);
    process.exit(2);
  }
  return v;
}

/** An option that takes one of `choices` (`raw` absent: `fallback`); otherwise exits 2 naming it. */
export function choiceOption<C extends string>(name: string, raw: string | undefined, choices: readonly C[], fallback: C): C {
  const v = raw === undefined ? fallback : raw;
  if (!(choices as readonly string[]).includes(v)) {
    process.stderr.write(`--${name}: ${JSON.stringify(raw)} is not one of ${choices.join(', ')}\n`);
    process.exit(2);
  }
  return v as C;
}
