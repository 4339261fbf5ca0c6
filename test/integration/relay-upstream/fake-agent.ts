// A fake KubeArmor agent: a real grpc-js server implementing feeder.LogService from
// the generated service definition, behaving as KubeArmor's feeder does towards
// log clients: HealthCheck echoes the nonce; WatchAlerts accepts Filter "all" or
// "policy", WatchLogs "all" or "system" (another filter ends the stream at once, OK);
// WatchMessages any filter; every emitted event goes to every open stream of its
// type. stop() kills the server (forceShutdown), as a crashed or restarted agent.
import { Server, type ServerCredentials, ServerCredentials as Creds, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { Alert, Log, LogServiceService, Message, type NonceMessage, type ReplyMessage, type RequestMessage } from '../../../proto/gen/feeder/kubearmor.js';

type Kind = 'alert' | 'log' | 'message';

export class FakeAgent {
  readonly streams: Record<Kind, Set<ServerWritableStream<RequestMessage, unknown>>> = { alert: new Set(), log: new Set(), message: new Set() };
  readonly filters: string[] = [];
  healthChecks = 0;
  /** Answer HealthCheck with this instead of the nonce (a misbehaving agent). */
  replyOverride: number | undefined;
  /** Never answer HealthCheck (a hung agent, or a peer gone without a FIN). */
  hangHealthCheck = false;
  port = 0;
  private server: Server | undefined;

  constructor(readonly host = '127.0.0.1', readonly creds: ServerCredentials = Creds.createInsecure()) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Open streams of every type (3 once a relay pulls everything). */
  get watchers(): number {
    return this.streams.alert.size + this.streams.log.size + this.streams.message.size;
  }

  async start(port = 0): Promise<number> {
    const server = new Server();
    const watch = (kind: Kind, allowed: readonly string[] | undefined) => (call: ServerWritableStream<RequestMessage, unknown>): void => {
      this.filters.push(`${kind}:${call.request.Filter}`);
      if (allowed && !allowed.includes(call.request.Filter)) {
        call.end();
        return;
      }
      this.streams[kind].add(call);
      const drop = (): void => {
        this.streams[kind].delete(call);
      };
      call.on('cancelled', drop);
      call.on('close', drop);
      call.on('error', drop);
    };
    server.addService(LogServiceService, {
      healthCheck: (call: ServerUnaryCall<NonceMessage, ReplyMessage>, cb: sendUnaryData<ReplyMessage>) => {
        this.healthChecks++;
        if (this.hangHealthCheck) return;
        cb(null, { Retval: this.replyOverride ?? call.request.nonce });
      },
      watchAlerts: watch('alert', ['all', 'policy']),
      watchLogs: watch('log', ['all', 'system']),
      watchMessages: watch('message', undefined),
    });
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`${this.host}:${port}`, this.creds, (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
    return this.port;
  }

  private emit(kind: Kind, value: unknown): number {
    for (const s of this.streams[kind]) s.write(value);
    return this.streams[kind].size;
  }

  alert(a: Partial<Alert>): number {
    return this.emit('alert', Alert.create(a));
  }

  log(l: Partial<Log>): number {
    return this.emit('log', Log.create(l));
  }

  message(m: Partial<Message>): number {
    return this.emit('message', Message.create(m));
  }

  /** Ends every stream with OK (an agent shutting its feeder down cleanly). */
  endStreams(): void {
    for (const set of Object.values(this.streams)) {
      for (const s of set) s.end();
      set.clear();
    }
  }

  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    for (const set of Object.values(this.streams)) set.clear();
  }
}
