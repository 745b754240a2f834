import type { Dispatcher } from 'undici';
import { readBoundedBody } from '../../common/bounded-body.js';
import { withDeadline } from '../../common/deadline.js';
import { jsonObject, parseJsonBody } from '../json-body.js';

/** Where the checks' own look-ups go: the gateway's upstream pool and the endpoint's base path. */
export interface UpstreamLookupOptions {
  /** The upstream pool (requests go to its origin). */
  dispatcher: Dispatcher;
  /** Base path of `Matrix.HomeserverApiEndpoint` (`''` or `/prefix`, no trailing slash). */
  basePath: string;
  /** Limit for one whole look-up, body included (`Matrix.TimeoutMilliseconds`). */
  timeoutMs: number;
}

/** The answers the checks read (aliases, state events) are small; a larger one is refused. */
const MAX_ANSWER_BYTES = 256 * 1024;

/** An upstream answer: its status and its body as a JSON object (null when it is not one). */
export interface JsonAnswer {
  status: number;
  json: Readonly<Record<string, unknown>> | null;
}

/**
 * `GET path` against the homeserver with optional headers, bounded in time (headers, body and the
 * whole exchange) and in size. Rejects on transport errors, timeouts and oversized answers.
 */
export function getJson(options: UpstreamLookupOptions, path: string, headers: Record<string, string>): Promise<JsonAnswer> {
  return withDeadline(options.timeoutMs, () => `GET ${path} timed out after ${options.timeoutMs} ms`, async (signal) => {
    const response = await options.dispatcher.request({
      method: 'GET',
      path: `${options.basePath}${path}`,
      headers,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal,
    });
    const body = await readBoundedBody(response.body, MAX_ANSWER_BYTES, response.headers['content-length']);
    return { status: response.statusCode, json: jsonObject(parseJsonBody(body)) };
  });
}
