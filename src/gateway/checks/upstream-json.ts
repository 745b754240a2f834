import type { Dispatcher } from 'undici';
import { jsonObject, parseJsonBody } from './json-body.js';

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
export async function getJson(options: UpstreamLookupOptions, path: string, headers: Record<string, string>): Promise<JsonAnswer> {
  // One deadline for the whole look-up, body included (undici's own timeouts are per phase and
  // restart on every body chunk); cleared as soon as the look-up ends, so no timer outlives it.
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(new Error(`GET ${path} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
  try {
    const response = await options.dispatcher.request({
      method: 'GET',
      path: `${options.basePath}${path}`,
      headers,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: abort.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        throw new Error(`answer to GET ${path} exceeds ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: response.statusCode, json: jsonObject(parseJsonBody(Buffer.concat(chunks, size))) };
  } finally {
    clearTimeout(deadline);
  }
}
