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
import { listenForParent } from './support/forked-listener.js';

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

listenForParent(uws, app, 'hook service');
