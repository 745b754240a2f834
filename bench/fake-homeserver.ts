/**
 * A fast fake homeserver for the benchmarks (never for tests): uWebSockets.js in its own process,
 * canned answers for the routes the scenarios use, so that the direct baseline measures the load
 * generator and the loopback, not a slow server.
 *
 * - `GET …/account/whoami` → `{"user_id":"@bench:localhost"}` for any token
 * - `GET …/joined_rooms` → `{"joined_rooms":[]}`
 * - `PUT …/rooms/{room}/send/{type}/{txn}` → reads the body, `{"event_id":"$…"}`
 * - `GET …/sync?timeout=N` → a small sync answer after N ms (a long-poll; at once for 0)
 * - `GET …/media/download/…` → `MEDIA_BYTES` of zeros, streamed with backpressure
 * - `POST /_matrix/media/v3/upload` → reads (and counts) the body, `{"content_uri":…}`
 * - anything else → `{}`
 *
 * Started with `fork()` (optional argument: a Unix socket path to serve on as well); reports
 * `{ port, socketPath? }` over IPC once listening and exits when the parent
 * disconnects.
 */
import { loadUws } from '../src/gateway/uws.js';
import { listenForParent } from './support/forked-listener.js';
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { MEDIA_BYTES } from './support/constants.js';

const SYNC_BODY = JSON.stringify({ next_batch: 's1_1', rooms: { join: {} }, presence: { events: [] } });
const CHUNK = new Uint8Array(256 * 1024);

/** Streams `MEDIA_BYTES` with `tryEnd`/`onWritable`, the uWS backpressure pattern. */
function streamMedia(res: HttpResponse): void {
  let aborted = false;
  let queued = 0;
  let blocked: Uint8Array | null = null;
  let blockedAt = 0;
  res.onAborted(() => {
    aborted = true;
  });
  const send = (chunk: Uint8Array): boolean => {
    blockedAt = res.getWriteOffset();
    const [ok, done] = res.tryEnd(chunk, MEDIA_BYTES);
    if (!ok && !done) blocked = chunk;
    return ok && !done;
  };
  const pump = (): void => {
    while (!aborted && queued < MEDIA_BYTES) {
      const size = Math.min(CHUNK.length, MEDIA_BYTES - queued);
      queued += size;
      if (!send(CHUNK.subarray(0, size))) return;
    }
  };
  res.onWritable((offset) => {
    if (blocked === null) return true;
    const [ok, done] = res.tryEnd(blocked.subarray(offset - blockedAt), MEDIA_BYTES);
    if (done) return true;
    if (ok) {
      blocked = null;
      pump();
    }
    return ok;
  });
  res.cork(() => {
    res.writeStatus('200 OK').writeHeader('Content-Type', 'application/octet-stream');
    pump();
  });
}

function readBody(res: HttpResponse, onEnd: (bytes: number) => void): void {
  let aborted = false;
  let bytes = 0;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    bytes += chunk.byteLength;
    if (isLast && !aborted) res.cork(() => onEnd(bytes));
  });
}

const { uws } = loadUws(false);
const app = uws.App().any('/*', (res, req) => {
  const url = req.getUrl();
  const method = req.getMethod();
  if (url.endsWith('/account/whoami')) {
    res.end('{"user_id":"@bench:localhost","device_id":"BENCH"}');
  } else if (url.endsWith('/joined_rooms')) {
    res.end('{"joined_rooms":[]}');
  } else if (url.endsWith('/sync')) {
    const timeout = Number(req.getQuery('timeout') || '0');
    if (timeout <= 0) {
      res.end(SYNC_BODY);
      return;
    }
    let aborted = false;
    const timer = setTimeout(() => {
      if (!aborted) res.cork(() => res.end(SYNC_BODY));
    }, Math.min(timeout, 120_000));
    res.onAborted(() => {
      aborted = true;
      clearTimeout(timer);
    });
  } else if (url.includes('/media/download/')) {
    streamMedia(res);
  } else if (method === 'put' || method === 'post') {
    const upload = url.includes('/upload');
    readBody(res, () => res.end(upload ? '{"content_uri":"mxc://localhost/bench"}' : '{"event_id":"$bench"}'));
  } else {
    res.end('{}');
  }
});

// The first argument, when given: a Unix socket to serve on as well (the `cached-get-unix` scenario).
listenForParent(uws, app, 'fake homeserver', process.argv[2]);
