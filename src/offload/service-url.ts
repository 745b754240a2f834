/**
 * The URL of an HTTP service a pool task calls (`rest` auth, hook consultations), read once: an
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
  if (url.username === '' && url.password === '') return { ok: true, value: { url, basicAuth: null } };
  let basic: string;
  try {
    basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    return { ok: false, message: `${name} has user info with an invalid %-escape` };
  }
  url.username = '';
  url.password = '';
  return { ok: true, value: { url, basicAuth: `Basic ${Buffer.from(basic, 'utf8').toString('base64')}` } };
}
