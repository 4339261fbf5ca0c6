// Test helper: run commands in the locally built test images with real podman.
//
// Invariants:
// - Every container gets `--ulimit nofile=20000:20000 --ulimit nproc=4096:4096` (the
//   host's hard nofile limit is 20000; with podman's default crun fails with
//   "setrlimit RLIMIT_NOFILE: Operation not permitted"), and
//   `--network none` unless the caller asks for another network (tests keep their
//   traffic on loopback).
// - Every container is removed: `runInContainer` uses `--rm` and force-removes on
//   timeout; `startContainer` uses `--rm` and its `stop()` force-removes; containers
//   still alive when the test process exits are force-removed by an exit hook.
// - Every podman call is bounded by a timeout and its output by a byte cap.
// - Images are the ones built by test/infra/images/setup.sh (names in images.env);
//   `ensureImage` runs that script when an image is missing.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX_IMAGE = 'localhost/palisade-test/busybox:latest';
export const DEBIAN_IMAGE = 'localhost/palisade-test/debian:bookworm';
export const CONTAINER_ULIMITS: readonly string[] = [
  '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096',
];

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const imagesSetup = join(repoRoot, 'test/infra/images/setup.sh');
const DEFAULT_TIMEOUT_MS = 60_000;
const SETUP_TIMEOUT_MS = 20 * 60_000;
const OUTPUT_CAP_BYTES = 16 * 1024 * 1024;

export type ImageName = 'busybox' | 'debian';
export type Network = 'none' | 'host' | 'bridge';

export type RunOptions = {
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly network?: Network;
  readonly stdin?: string;
  /** Extra `podman run` options placed before the image (e.g. ['--cap-add', 'NET_ADMIN']). */
  readonly podmanArgs?: readonly string[];
};

export type RunResult = {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  readonly containerId: string;
};

export type StartedContainer = {
  readonly id: string;
  readonly name: string;
  /** The container's init process as seen from the host pid namespace. */
  readonly hostPid: number;
  /** Force-removes the container; safe to call more than once. */
  stop(): Promise<void>;
};

type ExecResult = { stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null; timedOut: boolean };

/** Runs a host command with a time bound and an output cap; never rejects on exit status. */
export function execBounded(cmd: string, args: readonly string[], timeoutMs: number, stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => { if (outBytes < OUTPUT_CAP_BYTES) { out.push(b); outBytes += b.length; } });
    child.stderr.on('data', (b: Buffer) => { if (errBytes < OUTPUT_CAP_BYTES) { err.push(b); errBytes += b.length; } });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal, timedOut });
    });
    child.stdin.on('error', () => { /* the child may exit before reading stdin; its exit status tells the story */ });
    child.stdin.end(stdin ?? '');
  });
}

function imageRef(name: ImageName | string): string {
  if (name === 'busybox') return BUSYBOX_IMAGE;
  if (name === 'debian') return DEBIAN_IMAGE;
  return name;
}

/** Makes sure a test image exists (building it with test/infra/images/setup.sh if not); returns its full reference. */
export async function ensureImage(name: ImageName | string): Promise<string> {
  const ref = imageRef(name);
  const exists = await execBounded('podman', ['image', 'exists', ref], DEFAULT_TIMEOUT_MS);
  if (exists.code === 0) return ref;
  const setup = await execBounded('bash', [imagesSetup], SETUP_TIMEOUT_MS);
  if (setup.code !== 0) {
    throw new Error(`ensureImage(${ref}): ${imagesSetup} failed (exit ${setup.code ?? setup.signal}${setup.timedOut ? ', timed out' : ''}): ${setup.stderr.trim()}`);
  }
  const again = await execBounded('podman', ['image', 'exists', ref], DEFAULT_TIMEOUT_MS);
  if (again.code !== 0) throw new Error(`ensureImage(${ref}): image still missing after ${imagesSetup}; it builds only ${BUSYBOX_IMAGE} and ${DEBIAN_IMAGE}`);
  return ref;
}

function uniqueName(): string {
  return `palisade-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function commonArgs(name: string, opts: RunOptions): string[] {
  const args = ['--name', name, ...CONTAINER_ULIMITS, '--network', opts.network ?? 'none'];
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
  return [...args, ...(opts.podmanArgs ?? [])];
}

const live = new Set<string>();
let exitHookInstalled = false;
function track(name: string): void {
  live.add(name);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const n of live) spawnSync('podman', ['rm', '--force', '--ignore', '--time', '0', n], { timeout: 30_000, stdio: 'ignore' });
  });
}

async function forceRemove(name: string): Promise<void> {
  const r = await execBounded('podman', ['rm', '--force', '--ignore', '--time', '0', name], DEFAULT_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`podman rm ${name} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  live.delete(name);
}

/**
 * Runs argv to completion in a fresh container and returns its output and exit code.
 * Podman's own failures use exit codes 125 (podman), 126 (cannot execute), 127 (not found).
 */
export async function runInContainer(image: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const name = uniqueName();
  const dir = await mkdtemp(join(tmpdir(), 'palisade-podman-'));
  const cidfile = join(dir, 'cid');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  track(name);
  try {
    const args = ['run', '--rm', '--interactive', '--cidfile', cidfile, ...commonArgs(name, opts), image, ...argv];
    const r = await execBounded('podman', args, timeoutMs, opts.stdin);
    if (r.timedOut) {
      await forceRemove(name);
      throw new Error(`runInContainer: '${argv.join(' ')}' in ${image} did not finish within ${timeoutMs} ms; container ${name} removed`);
    }
    live.delete(name);
    const containerId = (await readFile(cidfile, 'utf8').catch(() => '')).trim();
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 128, containerId };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts a long-running container (detached, `--rm`); call stop() when done. */
export async function startContainer(image: string, argv: readonly string[], opts: RunOptions = {}): Promise<StartedContainer> {
  const name = uniqueName();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  track(name);
  const r = await execBounded('podman', ['run', '--detach', '--rm', ...commonArgs(name, opts), image, ...argv], timeoutMs);
  if (r.code !== 0) {
    await forceRemove(name);
    throw new Error(`startContainer: podman run ${image} ${argv.join(' ')} failed (exit ${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`);
  }
  const id = r.stdout.trim().split('\n').pop() ?? '';
  const inspect = await execBounded('podman', ['inspect', '--type', 'container', '--format', '{{.State.Pid}}', id], DEFAULT_TIMEOUT_MS);
  const hostPid = Number.parseInt(inspect.stdout.trim(), 10);
  if (inspect.code !== 0 || !Number.isInteger(hostPid) || hostPid <= 0) {
    await forceRemove(name);
    throw new Error(`startContainer: container ${id} has no running process (pid '${inspect.stdout.trim()}'): ${inspect.stderr.trim()}`);
  }
  let stopped = false;
  return {
    id, name, hostPid,
    async stop() {
      if (stopped) return;
      await forceRemove(name);
      stopped = true;
    },
  };
}
