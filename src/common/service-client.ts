import { ACCEPT_GZIP } from './decoded-body.js';

/**
 * Headers of every call to a service an operator points Corporal at (the policy server, hook and
 * REST auth services, avatar hosts), as matrix-corporal's Go client sent them by itself:
 * `Accept-Encoding: gzip` (answers are read with `readBoundedDecodedBody`), and a `User-Agent`
 * (Go's was `Go-http-client/1.1`; some web application firewalls refuse a request without one,
 * and a named one tells the service's logs who called). No version: avatar hosts are third
 * parties, and a version tells an attacker which bugs to try. Lower-case names; callers add their own.
 */
export const SERVICE_CLIENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'accept-encoding': ACCEPT_GZIP,
  'user-agent': 'Corporal',
});
