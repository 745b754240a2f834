import { connect } from 'node:net';

/**
 * Sends raw HTTP/1.1 `requests` on one new connection to 127.0.0.1:`port`, each once the answer
 * to the previous one went quiet for `idleMs` (not pipelined: uWS closes a connection on which a
 * request arrives while the previous response is still pending). Resolves with everything
 * received (latin1) after the last answer, or when the server closed the connection.
 */
export function inTurn(port: number, requests: readonly string[], idleMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const pending = [...requests];
    const socket = connect(port, '127.0.0.1', () => socket.write(pending.shift() ?? ''));
    let text = '';
    let timer = setTimeout(() => quiet(), idleMs);
    const quiet = (): void => {
      const next = pending.shift();
      if (next === undefined) return done();
      socket.write(next);
      timer = setTimeout(quiet, idleMs);
    };
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(quiet, idleMs);
    });
    socket.on('error', () => {});
    socket.once('close', done);
  });
}

/** One response read off the wire: the head (status line and headers, each ending in CRLF) and what followed it. */
export interface WireResponse {
  head: string;
  body: string;
}

/**
 * Splits what {@link inTurn} received into responses at each status line, as a client that
 * trusts no framing would: a body that should not be there shows up in `body`, instead of being
 * taken for the start of the next response.
 */
export function wireResponses(text: string): WireResponse[] {
  return text.split(/(?=HTTP\/1\.1 \d{3} )/).map((one) => {
    const end = one.indexOf('\r\n\r\n');
    return end === -1 ? { head: one, body: '' } : { head: one.slice(0, end + 2), body: one.slice(end + 4) };
  });
}

/** A raw `method path` request head with `Host` and the extra header lines given (each without CRLF). */
export function rawRequest(method: string, path: string, ...headers: string[]): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${headers.map((line) => `${line}\r\n`).join('')}\r\n`;
}
