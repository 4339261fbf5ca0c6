// Fields KubeArmor clients expect set, filled by ingest where the sender left them
// empty: ClusterName (the hello's, else the relay's), HostName (the hello's node
// name), Timestamp (the batch's arrival second) and UpdatedTime (from Timestamp).
// One definition, used live (ingest-server.ts) and when the spool is replayed
// (relay/spool/replay.ts) with the values the spool record kept, so a replayed event
// is the event that was acked. Only empty fields change: filling twice is harmless.
import { FILLED_CLUSTER_NAME, FILLED_HOST_NAME, FILLED_TIMESTAMP, FILLED_UPDATED_TIME, updatedTime, type EventBody } from '../event.js';

/** Fills the empty fields; returns the FILLED_* bits of the fields it set. */
export type Filler = (body: EventBody) => number;

export function makeFiller(hostName: string, clusterName: string, receivedAtMs: number): Filler {
  let sec: bigint | undefined; // one bigint per batch
  return (body) => {
    const v = body.value;
    let filled = 0;
    if (v.ClusterName === '') { v.ClusterName = clusterName; filled |= FILLED_CLUSTER_NAME; }
    if (v.HostName === '') { v.HostName = hostName; filled |= FILLED_HOST_NAME; }
    if (v.Timestamp === 0n) { v.Timestamp = sec ??= BigInt(Math.floor(receivedAtMs / 1000)); filled |= FILLED_TIMESTAMP; }
    if (v.UpdatedTime === '') { v.UpdatedTime = updatedTime(Number(v.Timestamp) * 1000); filled |= FILLED_UPDATED_TIME; }
    return filled;
  };
}
