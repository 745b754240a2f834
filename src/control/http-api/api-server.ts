import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answerClientError } from './client-error.js';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { requestToken, tokenMatches } from './auth.js';
import { BufferBudget } from '../../common/buffer-budget.js';
import { readBody, type BodyReservation } from './read-body.js';
import { compileRoutes, matchRoute, type ApiResponse, type Route } from './route.js';

/** What {@link startHttpApi} needs. */
export interface HttpApiOptions {
  /** The address to bind; null for every interface (IPv6 and IPv4, see ListenAddress). */
  host: string | null;
  port: number;
  /** `HttpApi.AuthorizationBearerToken`. */
  bearerToken: string;
  /** `HttpApi.MetricsAuthorizationBearerToken`: also accepted by routes that say so (`""`: none). */
  metricsBearerToken?: string;
  /** `HttpApi.TimeoutMilliseconds`: limit for receiving a request (twice that for a stalled connection). */
  timeoutMs: number;
  /** Longest a handler may take before its connection is closed (default {@link HANDLER_LIMIT_MS}). */
  handlerLimitMs?: number;
  /**
   * Most bytes of request bodies held at once, across requests (default: the largest route bound,
   * so one policy push of the largest size at a time, many small requests beside each other).
   */
  maxHeldBodyBytes?: number;
  routes: readonly Route[];
  logger: Logger;
}

/**
 * How long a request's handler may work before its connection is closed anyway. Every handler has
 * bounds of its own (a push waits at most for its save deadline, a Synapse call for its timeout);
 * this only keeps a handler that never answers from holding its connection for ever. Generous,
 * as a plan of a large homeserver takes minutes.
 */
const HANDLER_LIMIT_MS = 10 * 60_000;

/** A listening HTTP API. */
export interface HttpApiServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish until `deadline` (epoch ms), then closes every connection. */
  close(deadline: number): Promise<void>;
}

/** Matrix-style error body, as matrix-corporal's API answers. */
export function apiError(status: number, errcode: string, message: string, extra: Record<string, unknown> = {}): ApiResponse {
  return { status, body: { errcode, error: message, ...extra } };
}

/**
 * The HTTP API's server (node:http: the traffic is low). Per request: match the route (unknown path
 * → 404, known path with another method → 405, neither needs auth, as in matrix-corporal) →
 * authenticate (401 `M_MISSING_TOKEN` / `M_UNKNOWN_TOKEN`) → read the body within the route's
 * bound (413) and the server's budget for bodies held at once (503) → handler → JSON answer with `Access-Control-Allow-Origin: *`. One info log line per
 * request: method, path (never the query string, which may carry `access_token`), route, status.
 */
export function startHttpApi(options: HttpApiOptions): Promise<HttpApiServer> {
  const routes = compileRoutes(options.routes);
  const metricsToken = options.metricsBearerToken ?? '';
  const { logger } = options;
  const handlerLimitMs = options.handlerLimitMs ?? HANDLER_LIMIT_MS;
  const largestBody = Math.max(0, ...options.routes.flatMap((route) => Object.values(route.methods).map((method) => method.maxBodyBytes)));
  const bodyBudget = new BufferBudget(options.maxHeldBodyBytes ?? largestBody, (inUseBytes, limitBytes) => {
    logger.warn({ inUseBytes, limitBytes }, 'HTTP API request body refused: the bodies being held fill the budget (503)');
  });
  // Receiving a request (headers and body) must finish within the limit, or Node answers 408. A
  // connection on which nothing moves for twice that long (a client that stops reading a large
  // answer, or sends nothing more) is destroyed, unless its request is still being handled.
  const server = createServer({
    requestTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.timeoutMs / 4))),
  });
  server.timeout = options.timeoutMs * 2;
  server.on('clientError', answerClientError);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const startedAt = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - startedAt) / 1e6;
    let routeId = '-';
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
    const method = req.method ?? 'GET';

    let bodyRead = false;
    let answered = false;
    let quiet = false;
    // The idle limit (`server.timeout`) is for connections that stall, not for a handler still
    // working on its answer: a client waiting for it sends nothing, and Node would destroy the
    // socket, so a push whose save is slow (up to DURABLE_WAIT_MS) lost its documented answer
    // (500, `"applied": true`) to a closed connection (red team 11, F3). With a listener, Node
    // leaves the socket alone; once the answer is out, a client that stops reading it is cut, and
    // a handler still working after `handlerLimitMs` loses its connection (verification round 12).
    res.on('timeout', () => {
      if (answered || elapsedMs() >= handlerLimitMs) {
        res.destroy();
        return;
      }
      req.socket.setTimeout(server.timeout); // look again later: the idle timer fires once per arming
    });
    const finish = (response: ApiResponse): void => {
      answered = true;
      // A body left unread (refused early, or too large) ends the connection: otherwise Node would
      // read and discard it to keep the connection alive.
      const delivered = !req.socket.destroyed;
      if (delivered) send(res, response, !bodyRead && hasBody(req));
      const ms = elapsedMs();
      const line = { method, path: rawPath, route: routeId, status: response.status, ms: Math.round(ms * 10) / 10, ...(delivered ? {} : { delivered: false }) };
      if (quiet) logger.debug(line, 'HTTP API request');
      else logger.info(line, 'HTTP API request');
    };

    const matched = matchRoute(routes, rawPath);
    if (matched === null) return finish(apiError(404, ErrCode.Unrecognized, 'Unrecognized request'));
    const handler = matched.route.methods[method];
    if (handler === undefined) {
      res.setHeader('allow', Object.keys(matched.route.methods).join(', '));
      return finish(apiError(405, ErrCode.Unrecognized, 'Method not allowed'));
    }
    routeId = handler.id;
    const token = requestToken(req.headers, query);
    if (token === null) return finish(apiError(401, ErrCode.MissingToken, 'Missing access token'));
    if (!tokenMatches(token, options.bearerToken) && !(handler.acceptsMetricsToken === true && metricsToken !== '' && tokenMatches(token, metricsToken))) {
      return finish(apiError(401, ErrCode.UnknownToken, 'Bad access token'));
    }
    // Refused requests stay at info whatever the route: a wrong token is worth seeing.
    quiet = handler.quiet === true;

    // Held until the request is answered: the handler works on the body (a push decodes it to text).
    const reservation: BodyReservation = { budget: bodyBudget, reserved: 0 };
    readBody(req, handler.maxBodyBytes, reservation)
      .then((body) => {
        bodyRead = true;
        return handler.handle({ method, params: matched.params, query, headers: req.headers, body });
      })
      // `.catch` after `.then`: a throw in `finish` itself is answered too, never left unhandled.
      .then(finish)
      .catch((err: unknown) => {
        if (hasErrorCode(err, 'CORP_ERR_API_BODY_TOO_LARGE') || hasErrorCode(err, 'CORP_ERR_API_BUSY')) {
          const { status, errcode, message } = err as { status: number; errcode: string; message: string };
          return finish(apiError(status, errcode, message));
        }
        // Not `req.destroyed`: Node 20 destroys a request once its body is read (verification round 13, F4).
        if (req.socket.destroyed) {
          logger.info({ method, path: rawPath, route: routeId }, 'HTTP API client went away');
          return;
        }
        logger.error({ route: routeId, err: describeError(err) }, 'HTTP API handler failed');
        if (res.headersSent) res.destroy();
        else finish(apiError(500, ErrCode.Unknown, 'Internal server error'));
      })
      .finally(() => bodyBudget.give(reservation.reserved));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? undefined, () => {
      server.off('error', reject);
      server.on('error', (err) => logger.error({ err: describeError(err) }, 'HTTP API server error'));
      const { port } = server.address() as AddressInfo;
      logger.info({ host: options.host ?? '*', port }, 'HTTP API listening');
      resolve({ port, close: (deadline) => closeServer(server, deadline) });
    });
  });
}

/** True when the request announces a body (`Content-Length` > 0 or a `Transfer-Encoding`). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Writes an answer (JSON unless it names its `contentType`); `closeConnection` adds `Connection: close`. */
function send(res: ServerResponse, response: ApiResponse, closeConnection: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const body = response.contentType === undefined ? JSON.stringify(response.body) : String(response.body);
  res.statusCode = response.status;
  res.setHeader('content-type', response.contentType ?? 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('access-control-allow-origin', '*');
  // Answers may contain the policy (credentials included): never cache them.
  res.setHeader('cache-control', 'no-store');
  if (closeConnection) res.setHeader('connection', 'close');
  res.end(body);
}

function closeServer(server: Server, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
