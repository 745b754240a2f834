import type { Dispatcher } from 'undici';
import { readBoundedBody } from '../../common/bounded-body.js';
import { withDeadline } from '../../common/deadline.js';
import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { jsonObject, parseJsonBody } from '../json-body.js';
import { INTERNAL_CONNECTIONS } from '../upstream/pools.js';

/**
 * Policy-check reads (aliases, power levels, encryption) one gateway thread may have in flight:
 * half of the internal pool's connections (`INTERNAL_CONNECTIONS`), so that the token look-ups
 * sharing that pool always find connections free. Without a bound (red team 7, F1), a managed user
 * flooding joins by alias (and leaving at once) queued reads for `Matrix.TimeoutMilliseconds`
 * each, every other user's new token timed out on its look-up, and their requests got 504.
 */
export const MAX_CHECK_READS_IN_FLIGHT = INTERNAL_CONNECTIONS / 2;

/**
 * Policy-check reads one requester may have in flight on a thread. The thread bound alone let one
 * managed user hold every place: joins by aliases on unreachable servers keep a read each for up
 * to `Matrix.TimeoutMilliseconds` (leaving does not end it), and meanwhile every other user's join
 * by alias was refused. With this, one user holds at most a quarter of the places. The requester
 * is the user the request acts as: an appservice masquerading as many users gets this many per
 * user (the homeserver trusts appservices anyway).
 */
export const MAX_CHECK_READS_PER_REQUESTER = 4;

/** `code` of a read refused at once because {@link CheckReadLimit} is at its bound. */
export const CHECK_READS_BUSY = 'CORP_ERR_CHECK_READS_BUSY';

/**
 * Counts a thread's policy-check reads in flight, in all and per requester (the user the request
 * acts as); {@link getJson} refuses a read past either bound. A place is held until its read
 * settles, not until its client leaves: the read goes on either way.
 */
export class CheckReadLimit {
  #inFlight = 0;
  readonly #byRequester = new Map<string, number>();

  /**
   * `limit` ≥ 1 reads at once, `perRequester` ≥ 1 of them for one requester; `onRefused` is told of
   * each read refused (a throttled warning): with the requester when its own bound refused it,
   * with null when the thread's did.
   */
  constructor(
    readonly limit: number = MAX_CHECK_READS_IN_FLIGHT,
    private readonly onRefused: (requester: string | null) => void = () => {},
    readonly perRequester: number = MAX_CHECK_READS_PER_REQUESTER,
  ) {}

  /** Reads in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs `read` for `requester` when a place is free overall and for it (holding both until `read`
   * settles); else rejects at once with {@link CHECK_READS_BUSY}.
   */
  async run<T>(requester: string, read: () => Promise<T>): Promise<T> {
    const mine = this.#byRequester.get(requester) ?? 0;
    if (this.#inFlight >= this.limit || mine >= this.perRequester) {
      const requesterBound = mine >= this.perRequester;
      this.onRefused(requesterBound ? requester : null);
      throw new CorporalError(CHECK_READS_BUSY, requesterBound
        ? `${this.perRequester} policy-check reads of this requester already in flight`
        : `${this.limit} policy-check reads already in flight`, {
        // Load, not a bug: answered 503 as it says, should a caller ever pass it to answerError.
        source: 'upstream', status: 503, errcode: ErrCode.Unknown, retryable: true,
      });
    }
    this.#inFlight++;
    this.#byRequester.set(requester, mine + 1);
    try {
      return await read();
    } finally {
      this.#inFlight--;
      const left = (this.#byRequester.get(requester) ?? 1) - 1;
      if (left === 0) this.#byRequester.delete(requester);
      else this.#byRequester.set(requester, left);
    }
  }
}

/** Where the checks' own look-ups go: the gateway's upstream pool and the endpoint's base path. */
export interface UpstreamLookupOptions {
  /** The upstream pool (requests go to its origin). */
  dispatcher: Dispatcher;
  /** Base path of `Matrix.HomeserverApiEndpoint` (`''` or `/prefix`, no trailing slash). */
  basePath: string;
  /** Limit for one whole look-up, body included (`Matrix.TimeoutMilliseconds`). */
  timeoutMs: number;
  /** The thread's bound on reads in flight; none when absent. */
  limit?: CheckReadLimit;
}

/** The answers the checks read (aliases, state events) are small; a larger one is refused. */
const MAX_ANSWER_BYTES = 256 * 1024;

/** An upstream answer: its status and its body as a JSON object (null when it is not one). */
export interface JsonAnswer {
  status: number;
  json: Readonly<Record<string, unknown>> | null;
}

/**
 * `GET path` against the homeserver with optional headers, for the check of a request acting as
 * `requester`, bounded in time (headers, body and the whole exchange), in size, and by
 * `options.limit`. Rejects on transport errors, timeouts, oversized answers and when the limit is
 * reached (the callers' checks then fail closed).
 */
export function getJson(options: UpstreamLookupOptions, path: string, headers: Record<string, string>, requester: string): Promise<JsonAnswer> {
  const read = (): Promise<JsonAnswer> => requestJson(options, { method: 'GET', path, headers });
  return options.limit === undefined ? read() : options.limit.run(requester, read);
}

/** One call of {@link requestJson}. */
export interface JsonRequest {
  method: 'GET' | 'PUT';
  path: string;
  headers: Record<string, string>;
  /** A JSON body (sent with `Content-Type: application/json`). */
  body?: unknown;
  /** Largest answer accepted; default 256 KiB. */
  maxAnswerBytes?: number;
  /** Ends the call early with its reason (the client the call is made for has left). */
  signal?: AbortSignal;
}

/**
 * One request to the homeserver, bounded in time (headers, body and the whole exchange) and in the
 * answer's size, outside any {@link CheckReadLimit}. Rejects on transport errors, timeouts,
 * oversized answers and `request.signal` aborting.
 */
export function requestJson(options: UpstreamLookupOptions, request: JsonRequest): Promise<JsonAnswer> {
  const { method, path, headers } = request;
  return withDeadline(options.timeoutMs, () => `${method} ${path} timed out after ${options.timeoutMs} ms`, async (signal) => {
    const response = await options.dispatcher.request({
      method,
      path: `${options.basePath}${path}`,
      headers: request.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: request.body === undefined ? null : JSON.stringify(request.body),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal,
    });
    const body = await readBoundedBody(response.body, request.maxAnswerBytes ?? MAX_ANSWER_BYTES, response.headers['content-length']);
    return { status: response.statusCode, json: jsonObject(parseJsonBody(body)) };
  }, request.signal);
}
