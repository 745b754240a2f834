/**
 * The container health check (`node dist/src/healthcheck.js`, the Dockerfile's HEALTHCHECK): load
 * the configuration the container was started with, derive the gateway's address from
 * `HttpGateway.ListenAddress` exactly as `corporal serve` does, and GET the gateway's info route
 * over HTTP/1.1. Exit 0 when it answers 200, else 1 (Docker's convention), with one line of output
 * that `docker inspect` shows.
 */
import { isIPv6 } from 'node:net';
import { loadConfigFile } from '../common/config/index.js';
import { parseListenAddress } from '../common/listen-address.js';
import { formatConfigIssues } from './config-errors.js';

/** Environment variable naming the configuration file; set it when the command uses another `-config=`. */
export const HEALTHCHECK_CONFIG_ENV = 'CORPORAL_CONFIG';
/** The image's default configuration path (its CMD), which is matrix-docker-ansible-deploy's. */
export const DEFAULT_CONTAINER_CONFIG_PATH = '/etc/matrix-corporal/config.json';
/** The gateway's info route (the router's `INFO_PATH`; not imported, to keep the router out of this script). */
export const HEALTHCHECK_PATH = '/_matrix/client/corporal';
/** Below Docker's `--timeout=5s`, so that a slow gateway is reported by this script, not killed. */
export const HEALTHCHECK_TIMEOUT_MS = 4_000;

/** Result of {@link probeUrlOf}: the URL to GET, or why the address cannot be probed. */
export type ProbeUrlResult = { ok: true; url: string } | { ok: false; error: string };

/**
 * The URL of the gateway's info route for a `HttpGateway.ListenAddress`. A wildcard address
 * (`0.0.0.0`, `[::]`, empty host) is probed on 127.0.0.1: uWebSockets.js listens dual-stack on
 * `[::]`, and loopback works inside a container whatever its networks. A specific address or host
 * name is probed as it is, since the gateway listens only there.
 */
export function probeUrlOf(listenAddress: string): ProbeUrlResult {
  const address = parseListenAddress(listenAddress);
  if (address === null) return { ok: false, error: `HttpGateway.ListenAddress ${JSON.stringify(listenAddress)} is not host:port` };
  if (address.port === 0) return { ok: false, error: 'HttpGateway.ListenAddress has port 0 (a random port), which cannot be probed' };
  let host: string;
  if (isIPv6(address.host)) {
    host = `[${address.host}]`;
    // The URL parser normalises every spelling of the unspecified address to [::].
    if (new URL(`http://${host}/`).hostname === '[::]') host = '127.0.0.1';
  } else {
    host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host;
  }
  return { ok: true, url: `http://${host}:${address.port}${HEALTHCHECK_PATH}` };
}

/** What {@link runHealthcheck} needs from its surroundings (tests pass their own). */
export interface HealthcheckDeps {
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof globalThis.fetch;
  out: (line: string) => void;
  timeoutMs?: number;
}

/** Runs the check; resolves to the exit code (0 healthy, 1 unhealthy). Never throws. */
export async function runHealthcheck(deps: HealthcheckDeps): Promise<number> {
  const configPath = deps.env[HEALTHCHECK_CONFIG_ENV] || DEFAULT_CONTAINER_CONFIG_PATH;
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    deps.out(`unhealthy: cannot load ${configPath} (set ${HEALTHCHECK_CONFIG_ENV} to the file given to -config):\n${formatConfigIssues(loaded.errors)}`);
    return 1;
  }
  const target = probeUrlOf(loaded.config.HttpGateway.ListenAddress);
  if (!target.ok) {
    deps.out(`unhealthy: ${target.error}`);
    return 1;
  }
  const timeoutMs = deps.timeoutMs ?? HEALTHCHECK_TIMEOUT_MS;
  try {
    const response = await deps.fetch(target.url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    if (response.status !== 200) {
      deps.out(`unhealthy: GET ${target.url} answered ${response.status}`);
      return 1;
    }
    deps.out(`healthy: GET ${target.url} answered 200`);
    return 0;
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError'
      ? `no answer within ${timeoutMs} ms`
      : describeFetchError(err);
    deps.out(`unhealthy: GET ${target.url}: ${reason}`);
    return 1;
  }
}

/** fetch() rejects with "fetch failed"; the useful part (ECONNREFUSED, …) is its cause. */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) return `${err.message}: ${(cause as Error & { code?: string }).code ?? cause.message}`;
  return err.message;
}
