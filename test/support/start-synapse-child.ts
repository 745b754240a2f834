/**
 * Child-process entry for the harness's own orphan tests (see orphan-synapse.ts): starts a Synapse
 * (options as JSON in argv[2]), prints `{"pid":…,"dataDir":…,"postgres":{"pid":…,"dir":…}}` (the
 * last with `database: 'postgres'` only) on one stdout line, then idles until it is killed, or exits
 * by itself (code 0, without calling `stop()`) when argv[3] is `exit`.
 */
import { startSynapse, type StartSynapseOptions } from './start-synapse.js';

const options = JSON.parse(process.argv[2] ?? '{}') as StartSynapseOptions;
const synapse = await startSynapse(options);
const postgres = synapse.postgres ? { pid: synapse.postgres.pid, dir: synapse.postgres.socketDir } : undefined;
process.stdout.write(`${JSON.stringify({ pid: synapse.pid, dataDir: synapse.dataDir, ...(postgres ? { postgres } : {}) })}\n`);
if (process.argv[3] === 'exit') process.exit(0);
setInterval(() => undefined, 60_000);
