import type { Duplex } from 'node:stream';
import { ErrCode } from '../../common/matrix-errors.js';

/** How each of Node's HTTP parse failures is answered: status, reason phrase, errcode, message. */
const ANSWERS: Readonly<Record<string, readonly [number, string, string, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', ErrCode.TooLarge, 'Request headers too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', ErrCode.TooLarge, 'Chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', ErrCode.Unknown, 'Request not received within the time limit'],
};
const MALFORMED: readonly [number, string, string, string] = [400, 'Bad Request', ErrCode.Unknown, 'Malformed HTTP request'];

/**
 * The HTTP API server's `clientError` handler: a request Node could not parse, or did not receive
 * in time, is answered as Node would (408, 413, 431, else 400, then the connection closes) but
 * with a Matrix error body and the API's CORS header, like every other answer of the API; Node's
 * own answers have no body. A connection reset, a socket that cannot be written, or one whose
 * answer to an earlier request has begun is only destroyed, as Node does: writing there would mix
 * two answers. Nothing is logged: any client can cause these.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Node keeps the answer in progress on the socket; its headers may already be out.
  const inProgress = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, errcode, message] = ANSWERS[err.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify({ errcode, error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `access-control-allow-origin: *\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
