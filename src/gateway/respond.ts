import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { matrixErrorJson } from '../common/matrix-errors.js';

/** A response header as written to the client. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * CORS headers on every locally generated answer, as matrix-corporal and Synapse send them
 * (reference §6.1/§6.6), so that browser clients can read our errors.
 */
export const CORS_HEADERS: readonly HeaderPair[] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS'],
  ['Access-Control-Allow-Headers', 'X-Requested-With, Content-Type, Authorization, Date'],
];

const statusLines = new Map<number, string>();

/** `"404 Not Found"` for 404: the status line uWS expects, cached per code. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

/**
 * One client exchange: the only object allowed to write to a uWS `HttpResponse`.
 *
 * uWS invalidates `res` once it is aborted or ended, and touching it afterwards crashes the
 * process; so every write goes through here, is corked (required outside the synchronous top of
 * the handler), and becomes a no-op once the exchange is aborted or finished. The abort handler is
 * registered in the constructor, i.e. synchronously in the request callback, before anything async.
 */
export class ClientExchange {
  /** The client went away (connection closed or reset). */
  aborted = false;
  /** A complete response was handed to uWS. */
  finished = false;
  private abortListeners: Array<() => void> | null = null;

  /** `onSettled` runs exactly once, when the exchange finishes or aborts. */
  constructor(
    private readonly res: HttpResponse,
    private readonly onSettled: () => void,
  ) {
    res.onAborted(() => {
      if (this.finished || this.aborted) return;
      this.aborted = true;
      const listeners = this.abortListeners;
      this.abortListeners = null;
      this.onSettled();
      if (listeners) for (const listener of listeners) listener();
    });
  }

  /** True while a response may still be written. */
  get isOpen(): boolean {
    return !this.aborted && !this.finished;
  }

  /** Runs `listener` if the client aborts before the response is finished. */
  onAbort(listener: () => void): void {
    if (!this.isOpen) return;
    (this.abortListeners ??= []).push(listener);
  }

  /**
   * Sends a complete response. `closeConnection` asks uWS to close the connection afterwards
   * (used while draining). No-op when the exchange is no longer open.
   */
  send(status: number, headers: readonly HeaderPair[], body: string | Uint8Array, closeConnection = false): void {
    if (!this.isOpen) return;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [name, value] of headers) this.res.writeHeader(name, value);
      this.res.end(body, closeConnection);
    });
    this.settle();
  }

  /** Sends a Matrix error `{"errcode","error"}` with CORS headers. */
  sendMatrixError(status: number, errcode: string, message: string, extraHeaders: readonly HeaderPair[] = [], closeConnection = false): void {
    this.send(
      status,
      [['Content-Type', 'application/json'], ...CORS_HEADERS, ...extraHeaders],
      matrixErrorJson(errcode, message),
      closeConnection,
    );
  }

  /** Sends a plain-text answer with CORS headers. */
  sendText(status: number, text: string): void {
    this.send(status, [['Content-Type', 'text/plain; charset=utf-8'], ...CORS_HEADERS], text);
  }

  /** Forcibly closes the connection (used when a drain deadline passes). */
  forceClose(): void {
    if (!this.isOpen) return;
    this.res.close();
  }

  private settle(): void {
    this.finished = true;
    this.abortListeners = null;
    this.onSettled();
  }
}
