/**
 * A fast hook REST service for the benchmarks (never for tests, which use
 * test/support/hook-rest-service.ts): uWebSockets.js in its own process, so that consultation
 * benchmarks measure the gateway, not a slow service. Reads each request body (the consultation
 * payload) and answers every request with the hook `{"action":"pass.unmodified"}`.
 *
 * Started with `fork()`; reports `{ port }` over IPC once listening and exits when the parent
 * disconnects.
 */
import { loadUws } from '../src/gateway/uws.js';

const PASS = '{"action":"pass.unmodified"}';

const { uws } = loadUws(false);
const app = uws.App().any('/*', (res) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((_chunk, isLast) => {
    if (isLast && !aborted) res.cork(() => res.writeHeader('Content-Type', 'application/json').end(PASS));
  });
});

app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) {
    process.stderr.write('hook service: cannot listen\n');
    process.exit(1);
  }
  process.send?.({ port: uws.us_socket_local_port(socket as never) });
});
process.on('disconnect', () => process.exit(0));
