import type { LineDestination } from '../common/logger.js';
import { userIdOf } from './identity/identity.js';
import { redactQuery } from './query.js';
import { redactPathSecrets } from './secret-path.js';
import { TARGET_TOO_LONG_ROUTE_ID } from './router/index.js';
import type { RequestContext, RequestFinishedListener } from './request-context.js';

/**
 * Query parameters whose values are secrets and never logged: access tokens (Synapse still accepts
 * them in the query), registration/login tokens, 3PID session secrets, and the OAuth/OIDC
 * authorisation `code` and `state` of SSO callbacks when `/_synapse/client/` goes through the
 * gateway, and the `h` of a consent link (`/_matrix/consent?u=…&h=…`: an HMAC that lets its holder
 * consent as `u`). In lower case: `redactQuery` compares keys in any case.
 */
const SECRET_QUERY_KEYS: ReadonlySet<string> = new Set([
  'access_token', 'token', 'login_token', 'logintoken', 'client_secret', 'refresh_token', 'code', 'state', 'h',
]);

/**
 * Logged as the path of a request refused for its length (route `target-too-long`): its target may
 * be any size uWS accepts, and its query is not worth redacting.
 */
const TOO_LONG_PATH = '(longer than the limit, not logged)';

/** pino's number for `info`: access lines read like every other line of the thread's log. */
const INFO_LEVEL = 30;

/**
 * One info line per request when `HttpGateway.AccessLog` is on:
 * `{route, method, path, status, ms, user, upstream, in, out, aborted | cut}` — route id, status
 * sent (0 if no head was written), duration, the user id when resolved, the upstream status (0 if
 * not proxied or no answer), request/response body bytes, and whether the client left (`aborted`)
 * or the gateway cut the connection (`cut`) before the response was complete. Never a token: the query string is logged with secret
 * values replaced, so are the path segments that are capabilities (secret-path.ts), headers are not
 * logged.
 *
 * The line has the shape of the thread's pino lines (`level`, `time`, `component`, fields, `msg`)
 * but is built here: it is written for every request, and pino's generic serialisation cost about
 * a fifth of a gateway thread's time on the cached-GET benchmark. Every string field goes through
 * {@link jsonString} (`JSON.stringify`'s result); the other fields are numbers.
 */
export class AccessLog implements RequestFinishedListener {
  private readonly prefix: string;
  /** The `time` of the last line and its millisecond: a busy thread writes many lines per millisecond. */
  private time = '';
  private timeMs = -1;

  /**
   * `sink` is the thread's log output, shared with its logger so that lines keep their order;
   * `component` names the thread, as its logger's `component` binding does.
   */
  constructor(
    private readonly sink: LineDestination,
    component: string,
  ) {
    this.prefix = `,"component":${JSON.stringify(component)},"route":`;
  }

  /** Writes the request's one access line (called once, when its exchange has settled). */
  requestFinished(ctx: RequestContext): void {
    const exchange = ctx.exchange;
    const loggedPath = redactPathSecrets(ctx.rawPath, ctx.method);
    const path = ctx.routeId === TARGET_TOO_LONG_ROUTE_ID ? TOO_LONG_PATH
      : ctx.rawQuery === '' ? loggedPath : `${loggedPath}?${redactQuery(ctx.rawQuery, SECRET_QUERY_KEYS)}`;
    const user = userIdOf(ctx.identity);
    const ms = Math.round((performance.now() - ctx.startedAt) * 10) / 10;
    const now = Date.now();
    if (now !== this.timeMs) {
      this.timeMs = now;
      this.time = new Date(now).toISOString();
    }
    this.sink.write(
      `{"level":${INFO_LEVEL},"time":"${this.time}"${this.prefix}${jsonString(ctx.routeId)}` +
        `,"method":${jsonString(ctx.method)},"path":${jsonString(path)},"status":${exchange.status},"ms":${ms}` +
        (user === null ? '' : `,"user":${jsonString(user)}`) +
        `,"upstream":${ctx.upstreamStatus},"in":${ctx.body?.received ?? 0},"out":${exchange.bodyBytesSent}` +
        (exchange.aborted ? ',"aborted":true' : exchange.cut ? ',"cut":true' : '') +
        ',"msg":"request"}\n',
    );
  }
}

/**
 * `JSON.stringify(text)`, quoting without a copy through the JSON serialiser when nothing needs an
 * escape: JSON.stringify escapes only `"`, `\`, control characters below U+0020 and lone
 * surrogates, so for printable ASCII without `"` and `\` (every route id and method, almost every
 * path and user id) its result is the text in quotes. About 30 ns less per field, four per line.
 */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 /* " */ || c === 0x5c /* \ */) return JSON.stringify(text);
  }
  return `"${text}"`;
}
