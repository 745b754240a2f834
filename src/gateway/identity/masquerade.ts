/**
 * The `user_id` query parameter of an appservice request, carried on to the homeserver calls the
 * gateway makes for that request (whoami, and the policy checks' reads of the room), so that
 * Synapse answers them for the user it will act as, not for the appservice's own sender.
 */

/** The credentials a read made for a request presents: its token, and its `user_id` bytes when it masquerades. */
export interface RequesterCredentials {
  readonly token: string;
  /** The request's first `user_id` query value, raw bytes (see credentials.ts); null when none. */
  readonly masqueradeAs: Uint8Array | null;
}

/** Percent-encodes every byte outside the unreserved set, so Synapse decodes exactly these bytes. */
export function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const unreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
      || byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e;
    out += unreserved ? String.fromCharCode(byte) : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

/**
 * `path` with the request's `user_id` appended as a query parameter when it masquerades (byte for
 * byte, as the client sent it). Synapse ignores `user_id` for ordinary user tokens.
 */
export function asRequester(path: string, masqueradeAs: Uint8Array | null): string {
  if (masqueradeAs === null) return path;
  return `${path}${path.includes('?') ? '&' : '?'}user_id=${percentEncode(masqueradeAs)}`;
}
