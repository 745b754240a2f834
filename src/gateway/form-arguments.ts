/**
 * Request bodies that Synapse would read as *arguments*.
 *
 * Twisted, under Synapse, parses the body of a `POST` whose first `Content-Type` header is
 * `application/x-www-form-urlencoded` into `request.args` and merges it over the query string;
 * then it rewinds the body, so the servlet still reads the same bytes as JSON. Synapse takes the
 * access token and the appservice `user_id` from `request.args`, so a JSON body such as
 * `{"reason":"&access_token=<other token>&"}` sent as a form makes Synapse act as *another* user
 * than the one the gateway resolved from the header or query (and checked the policy for).
 * Twisted decides on the media type with Python's e-mail header parser, which also decodes
 * RFC 2047 encoded words (`=?utf-8?b?…?=`), skips non-breaking spaces and so on; rather than
 * imitate it, the gateway accepts a `Content-Type` only when it is a plain `type/subtype` token
 * pair that is not a form type, and treats anything else as a possible form.
 */

/** RFC 9110 `token` characters, `type "/" subtype` with optional whitespace around. */
const PLAIN_MEDIA_TYPE = /^[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*$/;

/** The two media types Twisted parses into arguments (`multipart/form-data` Synapse refuses itself). */
const FORM_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/**
 * Whether Synapse could read arguments (`access_token`, `user_id`, …) from this request's body:
 * a `POST` (any case, to be safe) with a body whose first `Content-Type` is a form type or is not
 * a plain media type. `headers` is the flat `[name, value, …]` list with lower-case names, in the
 * order received (Twisted looks at the first `Content-Type` line only). No `Content-Type`: false.
 */
export function mayCarryFormArguments(method: string, hasBody: boolean, headers: readonly string[]): boolean {
  if (!hasBody || method.toUpperCase() !== 'POST') return false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i] !== 'content-type') continue;
    const value = headers[i + 1]!;
    const semicolon = value.indexOf(';');
    const mediaType = semicolon === -1 ? value : value.slice(0, semicolon);
    if (value.trim() === '') return false; // Twisted skips an empty header value
    if (!PLAIN_MEDIA_TYPE.test(mediaType)) return true;
    return FORM_MEDIA_TYPES.has(mediaType.trim().toLowerCase());
  }
  return false;
}

/**
 * Synapse's own HTML form pages, which read no user's access token and no appservice `user_id`
 * from their arguments (checked in Synapse 1.163.2, `build_synapse_client_resource_tree` and
 * `ConsentResource`): the SSO pages (identity-provider picker, username picker, new-user consent,
 * registration, the OIDC and SAML callbacks), the e-mail password reset, the notification
 * unsubscribe page (its `access_token` is a pusher-deletion macaroon, not a user's token), the
 * QR-code login rendezvous, the consent page (an HMAC of the user id), the legacy SAML mount, and
 * the UIA fallback page, whose `POST` carries the session and the reCAPTCHA or terms answer as a
 * form. Each is a resource and everything under it, matched on the raw path as Twisted matches
 * it; an encoded spelling is not matched and so refused, which errs on the safe side. Not the rest
 * of `/_synapse/client/`: a module's web resource mounted there may read a token from a form
 * (verification 17, L4).
 */
const FORM_PAGES: readonly string[] = [
  '/_synapse/client/pick_idp', '/_synapse/client/pick_username', '/_synapse/client/new_user_consent',
  '/_synapse/client/sso_register', '/_synapse/client/oidc', '/_synapse/client/saml2', '/_synapse/client/password_reset',
  '/_synapse/client/unsubscribe', '/_synapse/client/rendezvous', '/_matrix/consent', '/_matrix/saml2',
];

/** Synapse's `AuthRestServlet` pattern (`client_patterns(r"/auth/(?P<stagetype>[\w\.]*)/fallback/web")`), ASCII `\w`. */
const UIA_FALLBACK_PAGE = /^\/_matrix\/client\/(?:r0|v3|unstable)\/auth\/[\w.]*\/fallback\/web$/;

/**
 * Whether `rawPath` is one of Synapse's own form pages (see {@link FORM_PAGES}): the only places
 * where a form body is passed on. Everywhere else — the client and media APIs, the admin API, a
 * module's pages, anything Synapse may add — a form could carry a second token or `user_id`.
 */
export function isFormPage(rawPath: string): boolean {
  for (const page of FORM_PAGES) {
    if (rawPath.startsWith(page) && (rawPath.length === page.length || rawPath.charCodeAt(page.length) === 0x2f)) return true;
  }
  return UIA_FALLBACK_PAGE.test(rawPath);
}
