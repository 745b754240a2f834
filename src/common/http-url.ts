/**
 * The one check of "an http(s) URL", shared by the configuration (homeserver endpoint, policy
 * provider URI) and the policy (`rest` credentials, `RESTServiceURL`, avatar URLs), plus display
 * helpers that keep user info out of output.
 */

/** Options of {@link checkHttpUrl}. */
export interface HttpUrlOptions {
  /**
   * Accept a `#fragment`. The policy's URLs take one, as matrix-corporal's did: the HTTP client
   * drops it from the request, so such a URL works. The configuration's base URLs refuse it.
   */
  allowFragment?: boolean;
}

/** Starts with `http://` or `https://`, scheme in any case (Go's `url.Parse` folds it, as WHATWG does). */
const HTTP_PREFIX = /^https?:\/\//i;

/**
 * Checks that `text` is an absolute `http:` or `https:` URL with a host, whose user name and
 * password (if any) have only well-formed `%` escapes. Returns the problem (never quoting `text`,
 * which may hold a password), or null when it is one.
 *
 * - The `//` after the scheme is required: WHATWG reads `http:host` or `http:\\host` as a URL, but
 *   matrix-corporal's Go client could not use one, so no existing configuration has it working.
 * - Malformed user-info escapes (`%ZZ`) are refused here, not at use: WHATWG keeps them verbatim,
 *   and decoding them for Basic auth would then fail on every login or consultation. Go's
 *   `url.Parse` refused them too.
 */
export function checkHttpUrl(text: string, options: HttpUrlOptions = {}): string | null {
  if (!HTTP_PREFIX.test(text) || !URL.canParse(text)) return 'is not an absolute http(s) URL';
  const url = new URL(text);
  if (url.hostname === '') return 'is not an absolute http(s) URL (it has no host)';
  if (url.hash !== '' && options.allowFragment !== true) return 'may not have a #fragment';
  if (!isDecodable(url.username) || !isDecodable(url.password)) return 'has an invalid %-escape in its user name or password';
  return null;
}

/** True when {@link checkHttpUrl} finds no problem with `text`. */
export function isHttpUrl(text: string, options: HttpUrlOptions = {}): boolean {
  return checkHttpUrl(text, options) === null;
}

/** True when the URL `text` (one {@link isHttpUrl} accepts) carries a user name or password. */
export function hasUserInfo(text: string): boolean {
  const url = new URL(text);
  return url.username !== '' || url.password !== '';
}

/**
 * The URL `text` (one {@link isHttpUrl} accepts) without its user name and password, for display:
 * `text` itself when it has neither, else re-serialised.
 */
export function withoutUserInfo(text: string): string {
  if (!hasUserInfo(text)) return text;
  const url = new URL(text);
  url.username = '';
  url.password = '';
  return url.href;
}

function isDecodable(component: string): boolean {
  try {
    decodeURIComponent(component);
    return true;
  } catch {
    return false;
  }
}
