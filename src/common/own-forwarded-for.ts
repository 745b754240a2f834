import type { Dispatcher } from 'undici';

/**
 * The client address Corporal's own calls to the homeserver (the reconciler's, and the gateway's
 * whoami look-ups, check reads and logouts) claim when they go over a Unix socket.
 *
 * Why: Synapse's Unix listener has no peer address, so it needs `x_forwarded: true` and takes the
 * client's address from `X-Forwarded-For`; a request without one fails with HTTP 500 wherever
 * Synapse reads the address (`/login`, and every authenticated request, which records client
 * IPs). Over TCP Synapse would see Corporal's own address (loopback when they share a host, as
 * they must to share a socket), so this is the same answer.
 */
export const OWN_FORWARDED_FOR = '127.0.0.1';

/**
 * Appended to the message of an HTTP 500 from the homeserver when it is reached over a Unix socket
 * (`socketPath` not `''`), else `''`. Synapse answers 500 wherever it reads the client address if
 * that listener lacks `x_forwarded: true`: the likeliest mistake with
 * `Matrix.HomeserverApiSocketPath`, and nothing in Synapse's answer says so.
 */
export function socketServerErrorHint(socketPath: string, status: number): string {
  return socketPath !== '' && status === 500
    ? ' (if Synapse\'s Unix-socket listener lacks `x_forwarded: true`, it answers 500; see docs/deployment.md)'
    : '';
}

/** Headers of an outbound call: undici accepts a flat `[name, value, …]` list or an object. */
type OutboundHeaders = Dispatcher.DispatchOptions['headers'];

function hasForwardedFor(headers: OutboundHeaders): boolean {
  if (headers === undefined || headers === null) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'x-forwarded-for') return true;
    return false;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name] of headers as Iterable<[string, unknown]>) if (name.toLowerCase() === 'x-forwarded-for') return true;
    return false;
  }
  return Object.keys(headers).some((name) => name.toLowerCase() === 'x-forwarded-for');
}

function withForwardedFor(headers: OutboundHeaders): OutboundHeaders {
  if (hasForwardedFor(headers)) return headers;
  if (headers === undefined || headers === null) return { 'x-forwarded-for': OWN_FORWARDED_FOR };
  if (Array.isArray(headers)) return [...headers, 'x-forwarded-for', OWN_FORWARDED_FOR];
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    // Pairs become undici's flat list (an array of pairs would be misread as one).
    const flat: string[] = [];
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) flat.push(name, one);
    }
    return [...flat, 'x-forwarded-for', OWN_FORWARDED_FOR];
  }
  return { ...(headers as Record<string, string | string[] | undefined>), 'x-forwarded-for': OWN_FORWARDED_FOR };
}

/**
 * `dispatcher` when `socketPath` is empty (TCP: Synapse sees the real peer); otherwise the same
 * dispatcher sending {@link OWN_FORWARDED_FOR} on every call that carries no `X-Forwarded-For`
 * of its own. Closing stays the caller's business (close the original dispatcher).
 */
export function ownCallsDispatcher(dispatcher: Dispatcher, socketPath: string): Dispatcher {
  if (socketPath === '') return dispatcher;
  return dispatcher.compose((dispatch) => (options, handler) => dispatch({ ...options, headers: withForwardedFor(options.headers) }, handler));
}
