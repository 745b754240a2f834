import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The caller's token: `Authorization: Bearer …` first, else the `access_token` query parameter. */
export function requestToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | null {
  const header = headers.authorization;
  if (header !== undefined) {
    const bearer = /^Bearer +(\S.*)$/i.exec(header)?.[1]?.trim();
    if (bearer) return bearer;
  }
  const fromQuery = query.get('access_token');
  return fromQuery ? fromQuery : null;
}

/**
 * Compares a presented token with the configured one in constant time: both are hashed first, so
 * neither the content nor the length of the secret leaks through timing. An empty configured
 * token matches nothing (the API is then closed, and Corporal warns about it at start).
 */
export function tokenMatches(presented: string, configured: string): boolean {
  if (configured === '') return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(configured, 'utf8').digest();
  return timingSafeEqual(a, b);
}
