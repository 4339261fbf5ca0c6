// Fields KubeArmor clients expect set, filled by ingest where the sender left them
// empty: ClusterName (the hello's, else the relay's), HostName (the hello's node
// name), Timestamp (the batch's arrival second) and UpdatedTime (from Timestamp).
// One definition, used live (ingest-server.ts) and when the spool is replayed
// (relay/spool/replay.ts) with the values the spool record kept, so a replayed event
// is the event that was acked. Only empty fields change: filling twice is harmless.
import { updatedTime, type EventBody } from '../event.js';

export type Filler = (body: EventBody) => void;

export function makeFiller(hostName: string, clusterName: string, receivedAtMs: number): Filler {
  let sec: bigint | undefined; // one bigint per batch
  return (body) => {
    const v = body.value;
    if (v.ClusterName === '') v.ClusterName = clusterName;
    if (v.HostName === '') v.HostName = hostName;
    if (v.Timestamp === 0n) v.Timestamp = sec ??= BigInt(Math.floor(receivedAtMs / 1000));
    if (v.UpdatedTime === '') v.UpdatedTime = updatedTime(Number(v.Timestamp) * 1000);
  };
}
