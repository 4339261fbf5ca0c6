#!/usr/bin/env node
// The `palisade` command. Each subcommand lives in cli/commands/<name>.ts and exports
// `run(argv: string[]): Promise<number>` (the exit code) and `summary` (one line for --help).
// Subcommands are imported lazily so that `palisade version` never loads BPF or gRPC.

type CommandModule = { run(argv: string[]): Promise<number>; summary: string };

const COMMANDS: Readonly<Record<string, () => Promise<CommandModule>>> = {
  up: () => import('./commands/up.js'),
  trace: () => import('./commands/trace.js'),
  policy: () => import('./commands/policy.js'),
  relay: () => import('./commands/relay.js'),
  logs: () => import('./commands/logs.js'),
  certs: () => import('./commands/certs.js'),
  probe: () => import('./commands/probe.js'),
  version: () => import('./commands/version.js'),
};

async function loadCommand(name: string): Promise<CommandModule | undefined> {
  const load = COMMANDS[name];
  if (!load) return undefined;
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String(err).includes(`commands/${name}.`)) return undefined;
    throw err;
  }
}

async function printHelp(): Promise<void> {
  const lines = ['usage: palisade <command> [options]', '', 'commands:'];
  for (const name of Object.keys(COMMANDS)) {
    const mod = await loadCommand(name);
    if (mod) lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  lines.push('', "run 'palisade <command> --help' for a command's options");
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return main(['version']);
  const mod = await loadCommand(name);
  if (!mod) {
    process.stderr.write(`palisade: unknown command '${name}'; run 'palisade --help' for the list\n`);
    return 2;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`palisade: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
