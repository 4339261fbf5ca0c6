// Options of the relay spool (RelayConfig['spool']) and where it should live.
//
// Invariants: the spool is on iff `enabled` and `dir` is not empty. defaultSpoolConfig()
// has dir '' (off: createRelay(defaultConfig()) in tests and embedders stays in memory);
// loadRelayConfig() — `palisade relay`, `palisade up` — fills an empty dir with
// defaultSpoolDir(), so the commands spool by default. One relay process per directory
// (LOCK file): a second relay on the same host needs its own --spool-dir.
import { homedir } from 'node:os';
import { join } from 'node:path';

export type SpoolConfig = {
  /** false: acks after the in-memory hand-off (no relay-side durability). */
  readonly enabled: boolean;
  /** Segment directory; one relay process per directory (a LOCK file holds its pid). */
  readonly dir: string;
  /** Bound of all segments together; a batch that does not fit is refused (retryable), counted. */
  readonly maxBytes: number;
  /** A segment is closed and a new one started past this size. */
  readonly segmentBytes: number;
  /** a batch is acked once its record is synced (fdatasync; false: acked once written, in the page cache: survives a relay crash, not a machine crash). */
  readonly fsync: boolean;
  /** Segments older than this (and no longer in the hub) are deleted even below maxBytes; 0: only the byte bound. */
  readonly maxAgeSec: number;
};

export function defaultSpoolConfig(): SpoolConfig {
  return { enabled: true, dir: '', maxBytes: 1024 * 1024 * 1024, segmentBytes: 64 * 1024 * 1024, fsync: true, maxAgeSec: 7 * 24 * 3600 };
}

/**
 * root: /var/lib/palisade/relay-spool (the FHS place for a service's state);
 * others: $XDG_STATE_HOME/palisade/relay-spool, or ~/.local/state/palisade/relay-spool.
 */
export function defaultSpoolDir(env: Readonly<Record<string, string | undefined>> = process.env, uid: number = process.getuid?.() ?? -1): string {
  if (uid === 0) return '/var/lib/palisade/relay-spool';
  const state = env['XDG_STATE_HOME'];
  return join(state !== undefined && state !== '' ? state : join(homedir(), '.local', 'state'), 'palisade', 'relay-spool');
}

export const spoolOn = (c: SpoolConfig): boolean => c.enabled && c.dir !== '';
