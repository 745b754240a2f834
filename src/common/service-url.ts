/**
 * The URL of an HTTP service Corporal calls (`rest` auth, hook consultations, avatar downloads), read once: an
 * http(s) URL, with any user info (`https://user:pass@host/…`) taken out of it and turned into an
 * HTTP Basic `Authorization` value, as Go's client did. The credentials must not travel in the URL
 * (nor reach a log through it).
 */

/** A service URL ready to call: without user info, and the Basic credentials it carried (or null). */
export interface ServiceUrl {
  readonly url: URL;
  readonly basicAuth: string | null;
}

/**
 * Reads `text` as a service URL; `name` names it in the failure (`rest credential`,
 * `RESTServiceURL`). Fails, never throws, when it is not an http(s) URL or its user info holds a `%`
 * not followed by two hex digits (Go's `url.Parse` refused those; `decodeURIComponent` would throw
 * inside a pool task, which counts as a crash). The message never quotes the URL: it may carry a
 * password.
 */
export function parseServiceUrl(text: string, name: string): { ok: true; value: ServiceUrl } | { ok: false; message: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `${name} is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: `${name} is not an http(s) URL` };
  const basicAuth = takeBasicAuth(url);
  if (basicAuth === undefined) return { ok: false, message: `${name} has user info with an invalid %-escape` };
  return { ok: true, value: { url, basicAuth } };
}

/**
 * Takes the user info out of `url` (which is changed) as an HTTP Basic `Authorization` value, as
 * Go's client sent it: null when there is none, undefined (and `url` left as it was) when it holds
 * a `%` not followed by two hex digits.
 */
export function takeBasicAuth(url: URL): string | null | undefined {
  if (url.username === '' && url.password === '') return null;
  let basic: string;
  try {
    basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    return undefined;
  }
  url.username = '';
  url.password = '';
  return `Basic ${Buffer.from(basic, 'utf8').toString('base64')}`;
}
