/**
 * A real hook REST service on 127.0.0.1 (port 0) for tests and benchmarks: the behaviours of
 * matrix-corporal's example service (`etc/services/hook-rest-service/index.php`), plus endpoints
 * that misbehave in the ways consultations must survive (slow, failing, garbled, stalled).
 *
 * Every request is recorded (method, path, headers, body, parsed JSON) so tests can assert the
 * payload field by field, and waited for when the consultation runs in the background (async hooks).
 */
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the service received. */
export interface HookServiceRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  /** Lower-case names; repeated headers joined with `, ` (Node's `IncomingMessage.headers`). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Names and values as received, alternating (keeps a header Node's `headers` object cannot hold, such as `__proto__`). */
  rawHeaders: readonly string[];
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** `performance.now()` when the request was complete. */
  receivedAt: number;
}

/** Options of {@link startHookRestService}. */
export interface HookRestServiceOptions {
  /** Seed of the generator behind `/reject/with-33-percent-chance` (default 1). */
  seed?: number;
  /** Probability of rejecting on `/reject/with-33-percent-chance` (default 1/3); 0 and 1 force the outcome. */
  rejectProbability?: number;
  /** Record requests (default true; benchmarks turn it off). */
  record?: boolean;
}

/** A running service. */
export interface HookRestService {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every request received, in order (unless recording is off). */
  readonly requests: HookServiceRequest[];
  /** The rejection probability of `/reject/with-33-percent-chance`; may be changed at any time. */
  rejectProbability: number;
  /** Makes `/hook/<name>` answer `hook` (any JSON value, sent as is). */
  defineHook(name: string, hook: unknown): void;
  /** Resets `/flaky/<key>/<n>` counters. */
  resetFlaky(): void;
  /** Resolves with the first recorded request (past or future) whose path starts with `pathPrefix`. */
  waitForRequest(pathPrefix: string, timeoutMs?: number): Promise<HookServiceRequest>;
  close(): Promise<void>;
}

/** The hooks of matrix-corporal's example service, verbatim. */
export const EXAMPLE_HOOKS = Object.freeze({
  pass: { action: 'pass.unmodified' },
  reject: { action: 'reject', responseStatusCode: 403, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by the hook REST service' },
  injectIntoRequest: {
    action: 'pass.modifiedRequest',
    injectJSONIntoRequest: { customKey: 'value' },
    injectHeadersIntoRequest: { 'X-Custom-Header': 'Header-Value' },
  },
  injectIntoResponse: {
    action: 'pass.modifiedResponse',
    injectJSONIntoResponse: { customKey: 'value' },
    injectHeadersIntoResponse: { 'X-Custom-Header': 'Header-Value' },
  },
  respond: { action: 'respond', responseStatusCode: 200, responsePayload: { message: 'This response is coming from the REST service' } },
});

/**
 * Starts the service. Paths (any method):
 * - `/reject/with-33-percent-chance`: `reject` (403 `M_FORBIDDEN`) with probability
 *   `rejectProbability` (seeded, so runs repeat), else `pass.unmodified`;
 * - `/reject/forbidden`: always `reject`;
 * - `/inject-something-into-request`, `/inject-something-into-response`: the example's
 *   `pass.modifiedRequest` / `pass.modifiedResponse` (`{"customKey":"value"}`, `X-Custom-Header`);
 * - `/respond-with-something`: `respond` 200 `{"message":"This response is coming from the REST service"}`;
 * - `/dump`: `pass.unmodified` (the request is recorded like every other);
 * - `/hook/<name>`: the hook given to {@link HookRestService.defineHook} (404 when undefined);
 * - `/slow/<ms>`: waits `ms`, then `reject`;
 * - `/stall-body`: 200, headers and half a hook, then nothing (a deadline must cover the body);
 * - `/status/<code>`: that status with a valid `reject` hook as body (only 200 counts);
 * - `/garbled`: 200 with a body that is not JSON;
 * - `/invalid-hook`: 200 with JSON that is not a valid hook;
 * - `/flaky/<key>/<n>`: 500 for the first `n` calls per key, then `reject`;
 * - anything else: `pass.unmodified`.
 */
export async function startHookRestService(options: HookRestServiceOptions = {}): Promise<HookRestService> {
  const requests: HookServiceRequest[] = [];
  const defined = new Map<string, unknown>();
  const flakyCalls = new Map<string, number>();
  const waiters: { prefix: string; resolve: (request: HookServiceRequest) => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const random = mulberry32(options.seed ?? 1);
  const record = options.record ?? true;

  const service: HookRestService = {
    origin: '',
    requests,
    rejectProbability: options.rejectProbability ?? 1 / 3,
    defineHook: (name, hook) => void defined.set(name, hook),
    resetFlaky: () => flakyCalls.clear(),
    waitForRequest: (prefix, timeoutMs = 10_000) => {
      const seen = requests.find((request) => request.path.startsWith(prefix));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no request to ${prefix} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ prefix, resolve: (request) => (clearTimeout(timer), resolve(request)) });
      });
    },
    close: async () => {},
  };

  const answer = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const path = req.url ?? '';
    if (record) {
      const request: HookServiceRequest = { method: req.method ?? '', path, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders], body, json: parseJson(body), receivedAt: performance.now() };
      requests.push(request);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (path.startsWith(waiters[i]!.prefix)) waiters.splice(i, 1)[0]!.resolve(request);
      }
    }
    const route = path.split('?')[0]!;
    const sendHook = (hook: unknown, status = 200): void => sendJson(res, status, hook);
    if (route === '/reject/with-33-percent-chance') return sendHook(random() < service.rejectProbability ? EXAMPLE_HOOKS.reject : EXAMPLE_HOOKS.pass);
    if (route === '/reject/forbidden') return sendHook(EXAMPLE_HOOKS.reject);
    if (route === '/inject-something-into-request') return sendHook(EXAMPLE_HOOKS.injectIntoRequest);
    if (route === '/inject-something-into-response') return sendHook(EXAMPLE_HOOKS.injectIntoResponse);
    if (route === '/respond-with-something') return sendHook(EXAMPLE_HOOKS.respond);
    if (route.startsWith('/hook/')) {
      const name = decodeURIComponent(route.slice('/hook/'.length));
      return defined.has(name) ? sendHook(defined.get(name)) : sendJson(res, 404, { error: `no hook named ${name}` });
    }
    if (route.startsWith('/slow/')) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) sendHook(EXAMPLE_HOOKS.reject);
      }, Number(route.slice('/slow/'.length)));
      timers.add(timer);
      return;
    }
    if (route === '/stall-body') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"action":"pass.');
      return;
    }
    if (route.startsWith('/status/')) return sendHook(EXAMPLE_HOOKS.reject, Number(route.slice('/status/'.length)));
    if (route === '/garbled') return sendText(res, 200, 'this is not JSON');
    if (route === '/gzip/reject') {
      // Compressed whatever the request asked for, as a server storing its answers gzipped would.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      return void res.end(gzipSync(JSON.stringify(EXAMPLE_HOOKS.reject)));
    }
    if (route === '/brotli') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
      return void res.end(JSON.stringify(EXAMPLE_HOOKS.reject));
    }
    if (route === '/invalid-hook') return sendHook({ action: 'explode' });
    if (route.startsWith('/flaky/')) {
      const [key = '', failures = '0'] = route.slice('/flaky/'.length).split('/');
      const calls = (flakyCalls.get(key) ?? 0) + 1;
      flakyCalls.set(key, calls);
      return calls <= Number(failures) ? sendText(res, 500, 'flaky') : sendHook(EXAMPLE_HOOKS.reject);
    }
    return sendHook(EXAMPLE_HOOKS.pass);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return Object.assign(service, {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
