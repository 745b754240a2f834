import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import type { Uws } from '../../src/gateway/uws.js';

/**
 * For a benchmark service forked by bench/support/processes.ts: listens on a free port of
 * 127.0.0.1, reports `{ port }` to the parent over IPC, and exits when the parent disconnects
 * (or at once, with a message naming `name`, when it cannot listen).
 */
export function listenForParent(uws: Uws, app: TemplatedApp, name: string): void {
  app.listen('127.0.0.1', 0, (socket) => {
    if (!socket) {
      process.stderr.write(`${name}: cannot listen\n`);
      process.exit(1);
    }
    process.send?.({ port: uws.us_socket_local_port(socket as never) });
  });
  process.on('disconnect', () => process.exit(0));
}
