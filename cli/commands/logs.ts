// `palisade logs`: a log-stream client like `karmor logs`. Connects to a
// feeder.LogService (the Palisade relay, or a KubeArmor agent/relay) and prints
// alerts and/or logs as they arrive: as KubeArmor JSON (--json: KubeArmor's field
// names in its field order, zero values omitted) or as karmor's text blocks.
// --logFilter policy → WatchAlerts("policy"); system → WatchLogs("system");
// all → both (Filter "all"). -n filters by namespace on the client, as karmor does.
// Exit codes: 0 after --limit events or on SIGINT; 1 when the stream fails; 2 for
// bad arguments.
import { parseArgs } from 'node:util';
import { credentials as grpcCredentials, Metadata, status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Alert, Log, LogServiceClient } from '../../proto/gen/feeder/kubearmor.js';
import { loadChannelCredentials } from '../../relay/tls/credentials.js';

export const summary = 'stream alerts and logs from a relay (like karmor logs)';

const USAGE = `usage: palisade logs [options]

  --gRPC HOST:PORT        log-stream address (default localhost:32767)
  --logFilter FILTER      policy (alerts) | system (logs) | all (default policy)
  --json                  print KubeArmor JSON
  -n, --namespace NS      only events of this namespace
  --limit N               exit after N events (default: run until interrupted)
  --ca FILE               CA of the relay's certificate: use TLS
  --cert FILE, --key FILE client certificate for mutual TLS
  --server-name NAME      expected name in the relay's certificate
  --token TOKEN           bearer token (tenancy)
  -h, --help              this help
`;

type Printable = Alert | Log;

/** KubeArmor's JSON: declaration order, zero values omitted, int64 as a number. */
export function kubeArmorJson(kind: 'alert' | 'log', ev: Printable): Record<string, unknown> {
  const order = Object.keys(kind === 'alert' ? Alert.create() : Log.create());
  const out: Record<string, unknown> = {};
  const rec = ev as unknown as Record<string, unknown>;
  for (const k of order) {
    const v = rec[k];
    if (v === undefined || v === '' || v === 0 || v === 0n || v === false || (Array.isArray(v) && v.length === 0)) continue;
    if (typeof v === 'bigint') out[k] = Number(v);
    else if (typeof v === 'object' && !Array.isArray(v)) {
      const nested = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== '' && x !== undefined));
      if (Object.keys(nested).length > 0) out[k] = nested;
    } else out[k] = v;
  }
  return out;
}

function textBlock(kind: 'alert' | 'log', ev: Printable): string {
  const j = kubeArmorJson(kind, ev);
  const title = kind === 'alert' ? 'Alert' : 'Log';
  const lines = [`== ${title} / ${ev.UpdatedTime} ==`];
  for (const [k, v] of Object.entries(j)) {
    if (k === 'Timestamp' || k === 'UpdatedTime') continue;
    const s = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v).map(([a, b]) => `${a}=${String(b)}`).join(' ') : Array.isArray(v) ? v.join(',') : String(v);
    lines.push(`${k}: ${s}`);
  }
  return lines.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: argv,
      options: {
        gRPC: { type: 'string' }, logFilter: { type: 'string' }, json: { type: 'boolean' }, namespace: { type: 'string', short: 'n' },
        limit: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, 'server-name': { type: 'string' },
        token: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    process.stderr.write(`palisade logs: ${(err as Error).message}; run 'palisade logs --help'\n`);
    return 2;
  }
  if (v['help']) {
    process.stdout.write(USAGE);
    return 0;
  }
  const target = (v['gRPC'] as string | undefined) ?? 'localhost:32767';
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(target)) {
    process.stderr.write(`palisade logs: --gRPC ${JSON.stringify(target)}: expected HOST:PORT, e.g. localhost:32767\n`);
    return 2;
  }
  const filter = (v['logFilter'] as string | undefined) ?? 'policy';
  if (!['policy', 'system', 'all'].includes(filter)) {
    process.stderr.write(`palisade logs: --logFilter ${JSON.stringify(filter)}: expected policy, system or all\n`);
    return 2;
  }
  let limit = Infinity;
  if (v['limit'] !== undefined) {
    limit = Number(v['limit']);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      process.stderr.write(`palisade logs: --limit ${JSON.stringify(v['limit'])}: expected a positive integer\n`);
      return 2;
    }
  }
  let creds: ChannelCredentials = grpcCredentials.createInsecure();
  if (v['ca'] !== undefined || v['cert'] !== undefined) {
    const c = loadChannelCredentials({
      caFile: (v['ca'] as string | undefined) ?? '', certFile: (v['cert'] as string | undefined) ?? '', keyFile: (v['key'] as string | undefined) ?? '',
      ...(typeof v['server-name'] === 'string' ? { serverName: v['server-name'] } : {}),
    }, '--ca/--cert/--key');
    if (!c.ok) {
      process.stderr.write(`palisade logs: ${c.error}\n`);
      return 2;
    }
    creds = c.value;
  }
  const md = new Metadata();
  if (typeof v['token'] === 'string') md.set('authorization', `Bearer ${v['token']}`);
  const ns = v['namespace'] as string | undefined;
  const json = v['json'] === true;
  const client = new LogServiceClient(target, creds);

  return new Promise<number>((resolve) => {
    const calls: ClientReadableStream<Printable>[] = [];
    let printed = 0;
    let open = 0;
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      for (const c of calls) c.cancel();
      client.close();
      resolve(code);
    };
    const attach = (kind: 'alert' | 'log', call: ClientReadableStream<Printable>): void => {
      calls.push(call);
      open++;
      call.on('data', (ev: Printable) => {
        if (done || (ns !== undefined && ev.NamespaceName !== ns)) return;
        process.stdout.write(json ? JSON.stringify(kubeArmorJson(kind, ev), null, 4) + '\n' : textBlock(kind, ev));
        if (++printed >= limit) finish(0);
      });
      call.on('error', (err: ServiceError) => {
        if (done) return;
        process.stderr.write(`palisade logs: ${streamErrorText(target, err)}\n`);
        finish(1);
      });
      call.on('end', () => {
        if (--open === 0) finish(0);
      });
    };
    if (filter === 'policy' || filter === 'all') attach('alert', client.watchAlerts({ Filter: filter === 'policy' ? 'policy' : 'all' }, md) as ClientReadableStream<Printable>);
    if (filter === 'system' || filter === 'all') attach('log', client.watchLogs({ Filter: filter === 'system' ? 'system' : 'all' }, md) as ClientReadableStream<Printable>);
    process.once('SIGINT', () => finish(0));
  });
}

/** A stream's error for a person: grpc-js's wording for an unreachable relay trimmed of its
 * empty "Resolution note:" and the doubled "Error: ". */
function streamErrorText(target: string, err: ServiceError): string {
  const details = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '').replace(/Last error: Error: /, 'last error: ');
  return err.code === status.UNAVAILABLE ? `cannot reach the relay at ${target}: ${details}` : `${target}: ${details}`;
}
