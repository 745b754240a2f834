/**
 * One GET of the health check: the request, a bounded read of the answer, and a one-line account
 * of why it failed. Shared by the liveness probe (the gateway's info route) and the readiness
 * probe (the HTTP API's status).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { readBoundedBody } from '../common/bounded-body.js';

/** What {@link probeGet} needs. */
export interface ProbeGetOptions {
  fetch: typeof globalThis.fetch;
  /** Aborts the request and the body read; one signal can bound several calls with one budget. */
  signal: AbortSignal;
  /** The budget behind `signal`, only for the message when it runs out. */
  timeoutMs: number;
  /** The most body bytes read; a longer answer is a failure. */
  maxBodyBytes: number;
  headers?: Record<string, string>;
}

/** Result of {@link probeGet}: the status and body text, or why there is no answer (one line, no URL). */
export type ProbeGetResult = { ok: true; status: number; body: string } | { ok: false; error: string };

/**
 * GETs `url` without following redirects and reads the whole body as UTF-8, at most
 * `maxBodyBytes`. Never throws: a refused connection, a timeout (`no answer within N ms`), an
 * oversized body or an invalid header value resolve to `{ ok: false }`. The error text comes from
 * fetch and may quote a header value: a caller sending a secret must take it out.
 */
export async function probeGet(url: string, options: ProbeGetOptions): Promise<ProbeGetResult> {
  try {
    const init: RequestInit = { redirect: 'manual', signal: options.signal };
    if (options.headers !== undefined) init.headers = options.headers;
    const response = await options.fetch(url, init);
    const body = response.body === null
      ? Buffer.alloc(0)
      : await readBoundedBody(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), options.maxBodyBytes, response.headers.get('content-length') ?? undefined);
    return { ok: true, status: response.status, body: body.toString('utf8') };
  } catch (err) {
    if (options.signal.aborted) return { ok: false, error: `no answer within ${options.timeoutMs} ms` };
    return { ok: false, error: describeFetchError(err) };
  }
}

/** fetch() rejects with "fetch failed"; the useful part (ECONNREFUSED, …) is its cause. */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) return `${err.message}: ${(cause as Error & { code?: string }).code ?? cause.message}`;
  return err.message;
}
