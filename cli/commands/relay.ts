// `palisade relay`: runs the relay with one typed configuration (relay/config.ts):
// defaults < --config file (YAML/JSON) < PALISADE_RELAY_* environment < flags.
// Bad configuration: every problem is printed, naming the field and where it came
// from, exit code 2. Start-up failure (port in use, bad TLS file, Redis or Kubernetes
// unreachable): exit code 1. SIGINT/SIGTERM: ordered shutdown within
// shutdownDeadlineMs, exit code 0; a second signal exits at once (code 130).
import { parseArgs } from 'node:util';
import { configHelp, FIELDS, flagName, formatProblem, loadRelayConfig } from '../../relay/config.js';
import { createRelay } from '../../relay/relay.js';
import { applyRelayV8Tuning } from '../../relay/v8-tuning.js';

export const summary = 'run the relay: ingest from enforcers, Kubernetes identity, KubeArmor-compatible log stream';

const USAGE = `usage: palisade relay [--config FILE] [--<option>=VALUE ...]

Serves palisade.v1 Ingest (enforcers), and feeder.LogService (karmor logs),
palisade.v1 Watch and grpc.health.v1 on the log-stream address.

  -c, --config FILE                 YAML or JSON file with the options below (nested: ingest: {listen: ...})
  --upstream HOST:PORT              pull from a KubeArmor agent's feeder.LogService (repeatable)
  -h, --help                        this help

options (flag, meaning, default, environment variable):
`;

export async function run(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
    // KubeArmor relay style: --upstream host:port, repeatable (= --upstream-addresses)
    upstream: { type: 'string', multiple: true },
  };
  for (const f of FIELDS) options[flagName(f)] = { type: 'string', ...(f.kind.t === 'hostportList' ? { multiple: true } : {}) };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | string[] | undefined>;
  } catch (err) {
    process.stderr.write(`palisade relay: ${(err as Error).message}; run 'palisade relay --help'\n`);
    return 2;
  }
  if (values['help']) {
    process.stdout.write(USAGE + configHelp() + '\n');
    return 0;
  }
  const flags: Record<string, string | string[]> = {};
  for (const f of FIELDS) {
    const v = values[flagName(f)];
    if (typeof v === 'string' || Array.isArray(v)) flags[flagName(f)] = v;
  }
  const upstream = values['upstream'];
  if (Array.isArray(upstream)) flags['upstream-addresses'] = [...((flags['upstream-addresses'] as string[] | undefined) ?? []), ...upstream];
  const file = typeof values['config'] === 'string' ? values['config'] : undefined;
  const cfg = loadRelayConfig({ ...(file !== undefined ? { file } : {}), env: process.env, flags });
  if (!cfg.ok) {
    for (const p of cfg.problems) process.stderr.write(`palisade relay: ${formatProblem(p)}\n`);
    return 2;
  }
  applyRelayV8Tuning();
  const relay = createRelay(cfg.value);
  try {
    await relay.start();
  } catch (err) {
    process.stderr.write(`palisade relay: cannot start: ${(err as Error).message}\n`);
    await relay.stop(1000).catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) {
        process.exit(130);
      }
      signalled = true;
      relay.stop().then(() => resolve(0), (err: unknown) => {
        process.stderr.write(`palisade relay: shutdown: ${(err as Error).message}\n`);
        resolve(1);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
