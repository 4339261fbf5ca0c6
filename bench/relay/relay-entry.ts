// `palisade relay` for the benchmark, compiled (bench/relay/tsconfig.json) so the
// relay runs as plain JS without tsx: the same run() that cli/main.ts dispatches to
// for `palisade relay`, without compiling every other command.
import { run } from '../../cli/commands/relay.js';

process.exitCode = await run(process.argv.slice(2));
