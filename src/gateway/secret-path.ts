/**
 * Path segments that are secrets, for logs.
 *
 * A few Synapse endpoints carry a capability in the path rather than in the query or a header:
 * - `/_synapse/client/rendezvous/{id}` (MSC4108 QR-code login) and
 *   `/_matrix/client/unstable/io.element.msc4388/rendezvous/{id}`: whoever knows the rendezvous id
 *   can read and write the session that hands a new device its credentials;
 * - `/_synapse/admin/v1/registration_tokens/{token}` (an admin reading, changing or deleting a
 *   token): the registration token itself.
 *
 * The check is on the path as given — raw in the access log, decoded in hook log lines: a client
 * that uses these endpoints spells the marker segment as shown (an encoded spelling could only
 * hide a value its own sender chose to expose).
 */

/**
 * Segments after which every following segment is a secret, and the one value there that is not
 * when `POST`ed: `POST /registration_tokens/new` creates a token (in the body), while a `GET`,
 * `PUT` or `DELETE` of `…/new` names a token called `new` (a valid name: quality review 17b). A
 * rendezvous id is Synapse's random value, never a fixed word.
 */
const MARKERS = [
  { marker: '/rendezvous/', notASecretWhenPosted: null },
  { marker: '/registration_tokens/', notASecretWhenPosted: 'new' },
] as const;

/** Written in place of each secret segment. */
const REDACTED = '[redacted]';

/**
 * `path` (of a `method` request) with every segment after a `rendezvous` or `registration_tokens`
 * segment replaced by `[redacted]` (except `POST …/registration_tokens/new`); other paths are
 * returned as they are, without a copy.
 */
export function redactPathSecrets(path: string, method: string): string {
  for (const { marker, notASecretWhenPosted: exempt } of MARKERS) {
    const at = path.indexOf(marker);
    if (at === -1) continue;
    const rest = path.slice(at + marker.length);
    if (rest === '' || (exempt !== null && (rest === exempt || rest === `${exempt}/`) && method.toUpperCase() === 'POST')) return path;
    const redactedRest = rest.split('/').map((segment) => (segment === '' ? '' : REDACTED)).join('/');
    return `${path.slice(0, at + marker.length)}${redactedRest}`;
  }
  return path;
}
