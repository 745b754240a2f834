/**
 * Which responses carry no body, whatever was handed over for them: the answer to a HEAD request,
 * and every 1xx, 204 and 304 (RFC 9112 §6.3). Writing a body (or uWS' `Content-Length` for it)
 * there would be read by the client as the start of the next response on the connection.
 */
export function isBodyless(headRequest: boolean, status: number): boolean {
  return headRequest || status < 200 || status === 204 || status === 304;
}

/**
 * Whether a bodyless response may still announce the length the body would have had
 * (`Content-Length`, as for HEAD and 304). Never on 1xx and 204 (RFC 9110 §8.6).
 */
export function mayAnnounceLength(status: number): boolean {
  return status >= 200 && status !== 204;
}
