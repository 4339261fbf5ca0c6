// Worker-thread entry for TypeScript workers: registers tsx in this thread, then imports
// workerData.entry (a file URL). Used by fuzz.test.ts.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
