import type { Dispatcher } from 'undici';
import { createOutboundAgent } from '../common/outbound-agent.js';

/**
 * Connection limits of the HTTP client for auth services and hook REST services. Each request
 * carries its own deadline (`UserAuth.RestTimeoutMilliseconds`, a hook's
 * `RESTServiceRequestTimeoutMilliseconds`); these only keep undici's defaults out.
 */
const REST_AGENT_LIMITS = Object.freeze({
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 60_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
});

/** Connect (and TLS handshake) limit, to a service or to the proxy. */
const REST_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The HTTP client of a pool worker (built once per worker in tasks.ts), or of a gateway thread
 * that consults hooks without the pool (benchmarks only, hooks/thread-hooks.ts). Like Go's default
 * client that matrix-corporal used for both, it goes through the proxy named by
 * `HTTP_PROXY`/`HTTPS_PROXY` unless `NO_PROXY` exempts the host (common/outbound-agent.ts).
 * The owner closes it.
 */
export function createRestAgent(): Dispatcher {
  return createOutboundAgent({ connectTimeoutMs: REST_CONNECT_TIMEOUT_MS, agent: REST_AGENT_LIMITS });
}
