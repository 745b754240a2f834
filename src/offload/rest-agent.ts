import { Agent } from 'undici';

/**
 * Connection limits of the HTTP client for auth services and hook REST services. Each request
 * carries its own deadline (`UserAuth.RestTimeoutMilliseconds`, a hook's
 * `RESTServiceRequestTimeoutMilliseconds`); these only keep undici's defaults out.
 */
const REST_AGENT_OPTIONS = Object.freeze({
  connect: { timeout: 10_000 },
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 60_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
});

/**
 * The HTTP client of a pool worker (built once per worker in tasks.ts), or of a gateway thread
 * that consults hooks without the pool (benchmarks only, hooks/thread-hooks.ts). The owner closes it.
 */
export function createRestAgent(): Agent {
  return new Agent(REST_AGENT_OPTIONS);
}
