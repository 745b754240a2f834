import { rmSync } from 'node:fs';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import type { Uws } from '../../src/gateway/uws.js';

/**
 * For a benchmark service forked by bench/support/processes.ts: listens on a free port of
 * 127.0.0.1 (and, with `socketPath`, on that Unix socket too), reports `{ port, socketPath? }` to
 * the parent over IPC, and exits when the parent disconnects (or at once, with a message naming
 * `name`, when it cannot listen). The socket file is removed on exit.
 */
export function listenForParent(uws: Uws, app: TemplatedApp, name: string, socketPath?: string): void {
  const fail = (): never => {
    process.stderr.write(`${name}: cannot listen\n`);
    process.exit(1);
  };
  app.listen('127.0.0.1', 0, (socket) => {
    if (!socket) fail();
    const port = uws.us_socket_local_port(socket as never);
    if (socketPath === undefined) {
      process.send?.({ port });
      return;
    }
    rmSync(socketPath, { force: true });
    process.on('exit', () => rmSync(socketPath, { force: true }));
    app.listen_unix((unixSocket) => {
      if (!unixSocket) fail();
      process.send?.({ port, socketPath });
    }, socketPath);
  });
  process.on('disconnect', () => process.exit(0));
}
