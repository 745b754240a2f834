/**
 * Child process of access-log.test.ts: runs Corporal's gateway (real threads, access log on, info
 * level) in front of the upstream given as argv[2], so that the parent can read the log lines the
 * threads write to stdout. Prints `READY <port>` on stderr; stops and exits when stdin closes.
 */
import { startGateway } from './gateway-harness.js';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: access-log-child.js <upstream url>');
const gw = await startGateway({ upstream, threads: 2, gateway: { AccessLog: true }, threadLogLevel: 'info' });
process.stderr.write(`READY ${gw.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  gw.stop().then(() => process.exit(0), () => process.exit(1));
});
