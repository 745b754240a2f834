/**
 * Child-process entry for the harness's own orphan tests: starts a Synapse (options as JSON in
 * argv[2]), prints `{"pid":…,"dataDir":…}` on one stdout line, then idles until it is killed, or
 * exits by itself (code 0, without calling `stop()`) when argv[3] is `exit`.
 */
import { startSynapse, type StartSynapseOptions } from './start-synapse.js';

const options = JSON.parse(process.argv[2] ?? '{}') as StartSynapseOptions;
const synapse = await startSynapse(options);
process.stdout.write(`${JSON.stringify({ pid: synapse.pid, dataDir: synapse.dataDir })}\n`);
if (process.argv[3] === 'exit') process.exit(0);
setInterval(() => undefined, 60_000);
