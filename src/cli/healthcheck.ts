/**
 * The container health check (`node dist/src/healthcheck.js [--ready]`, the Dockerfile's
 * HEALTHCHECK): load the configuration the container was started with, derive the gateway's
 * address from `HttpGateway.ListenAddress` exactly as `corporal serve` does, and GET the gateway's
 * info route over HTTP/1.1 (liveness). With `--ready`, also GET the HTTP API's status and judge it
 * (src/cli/readiness.ts). Exit 0 when the check passes, else 1 (Docker's convention), with one line
 * of output that `docker inspect` shows.
 */
import { isIPv6 } from 'node:net';
import { loadConfigFile } from '../common/config/index.js';
import type { HttpApiConfig } from '../common/config/types.js';
import { parseListenAddress } from '../common/listen-address.js';
import { formatConfigIssues } from './config-errors.js';
import type { HealthcheckMode } from './healthcheck-args.js';
import { probeGet, type ProbeGetOptions } from './probe-get.js';
import { readinessOf, STATUS_BODY_LIMIT_BYTES, STATUS_PATH } from './readiness.js';

/** Environment variable naming the configuration file; set it when the command uses another `-config=`. */
export const HEALTHCHECK_CONFIG_ENV = 'CORPORAL_CONFIG';
/** The image's default configuration path (its CMD), which is matrix-docker-ansible-deploy's. */
export const DEFAULT_CONTAINER_CONFIG_PATH = '/etc/matrix-corporal/config.json';
/** The gateway's info route (the router's `INFO_PATH`; not imported, to keep the router out of this script). */
export const HEALTHCHECK_PATH = '/_matrix/client/corporal';
/**
 * The budget of the whole check, shared by its calls (the gateway, then with `--ready` the HTTP
 * API): below Docker's `--timeout=5s`, so that a slow Corporal is reported by this script, not killed.
 */
export const HEALTHCHECK_TIMEOUT_MS = 4_000;
/** The most bytes read of the info route's answer (a one-line text). */
const INFO_BODY_LIMIT_BYTES = 64 * 1024;

/** Result of {@link probeUrlOf}: the URL to GET, or why the address cannot be probed. */
export type ProbeUrlResult = { ok: true; url: string } | { ok: false; error: string };

/**
 * The URL of `path` on the listener configured by the setting `setting` (by default the gateway's
 * info route for `HttpGateway.ListenAddress`; errors name the setting). A wildcard address
 * (`0.0.0.0`, `[::]`, empty host) is probed on 127.0.0.1: uWebSockets.js listens dual-stack on
 * `[::]`, Node's HTTP API server too, and loopback works inside a container whatever its networks.
 * A specific address or host name is probed as it is, since the listener is only there.
 */
export function probeUrlOf(listenAddress: string, path = HEALTHCHECK_PATH, setting = 'HttpGateway.ListenAddress'): ProbeUrlResult {
  const address = parseListenAddress(listenAddress);
  if (address === null) return { ok: false, error: `${setting} ${JSON.stringify(listenAddress)} is not host:port` };
  if (address.port === 0) return { ok: false, error: `${setting} has port 0 (a random port), which cannot be probed` };
  let host: string;
  if (address.host === null) {
    host = '127.0.0.1';
  } else if (isIPv6(address.host)) {
    host = `[${address.host}]`;
    // The URL parser normalises every spelling of the unspecified address to [::].
    if (new URL(`http://${host}/`).hostname === '[::]') host = '127.0.0.1';
  } else {
    host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host;
  }
  return { ok: true, url: `http://${host}:${address.port}${path}` };
}

/** What {@link runHealthcheck} needs from its surroundings (tests pass their own). */
export interface HealthcheckDeps {
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof globalThis.fetch;
  out: (line: string) => void;
  /** The budget of the whole check; default {@link HEALTHCHECK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The word that starts the output line: `healthy`/`unhealthy`, or with `--ready` `ready`/`not ready`. */
export function verdictWord(mode: HealthcheckMode, passed: boolean): string {
  if (mode === 'readiness') return passed ? 'ready' : 'not ready';
  return passed ? 'healthy' : 'unhealthy';
}

/**
 * Runs the check in `mode` and prints one line (`<verdict word>: <detail>`); resolves to the exit
 * code (0 passed, 1 not). Never throws, and never prints `HttpApi.AuthorizationBearerToken`.
 */
export async function runHealthcheck(deps: HealthcheckDeps, mode: HealthcheckMode = 'liveness'): Promise<number> {
  const verdict = await check(deps, mode);
  deps.out(`${verdictWord(mode, verdict.passed)}: ${verdict.detail}`);
  return verdict.passed ? 0 : 1;
}

interface Verdict {
  passed: boolean;
  detail: string;
}

const failed = (detail: string): Verdict => ({ passed: false, detail });

async function check(deps: HealthcheckDeps, mode: HealthcheckMode): Promise<Verdict> {
  const configPath = deps.env[HEALTHCHECK_CONFIG_ENV] || DEFAULT_CONTAINER_CONFIG_PATH;
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    return failed(`cannot load ${configPath} (set ${HEALTHCHECK_CONFIG_ENV} to the file given to -config):\n${formatConfigIssues(loaded.errors)}`);
  }
  const gateway = probeUrlOf(loaded.config.HttpGateway.ListenAddress);
  if (!gateway.ok) return failed(gateway.error);
  // Known before any request: a readiness check that cannot tell says so at once.
  const api = mode === 'readiness' ? statusRequestOf(loaded.config.HttpApi) : null;
  if (api !== null && !api.ok) return failed(api.error);

  const timeoutMs = deps.timeoutMs ?? HEALTHCHECK_TIMEOUT_MS;
  const budget = { fetch: deps.fetch, signal: AbortSignal.timeout(timeoutMs), timeoutMs };
  const live = await probeGet(gateway.url, { ...budget, maxBodyBytes: INFO_BODY_LIMIT_BYTES });
  if (!live.ok) return failed(`GET ${gateway.url}: ${live.error}`);
  if (live.status !== 200) return failed(`GET ${gateway.url} answered ${live.status}`);
  if (api === null) return { passed: true, detail: `GET ${gateway.url} answered 200` };

  const readiness = await readStatus(api, { ...budget, maxBodyBytes: STATUS_BODY_LIMIT_BYTES });
  if (!readiness.ok) return failed(readiness.error);
  const judged = readinessOf(readiness.body);
  if (!judged.ready) return failed(judged.reasons.join('; '));
  return { passed: true, detail: `${judged.summary} (GET ${gateway.url} and GET ${api.url} answered 200)` };
}

/** Where and how to ask the HTTP API for its status, or why readiness cannot be told. */
type StatusRequest = { ok: true; url: string; token: string } | { ok: false; error: string };

function statusRequestOf(httpApi: HttpApiConfig): StatusRequest {
  if (!httpApi.Enabled) {
    return { ok: false, error: `HttpApi.Enabled is false: readiness is read from GET ${STATUS_PATH} on the HTTP API, so it cannot be told (enable the API, or check liveness without --ready)` };
  }
  if (httpApi.AuthorizationBearerToken === '') {
    return { ok: false, error: `HttpApi.AuthorizationBearerToken is empty: the HTTP API refuses every request, GET ${STATUS_PATH} included` };
  }
  const target = probeUrlOf(httpApi.ListenAddress, STATUS_PATH, 'HttpApi.ListenAddress');
  return target.ok ? { ok: true, url: target.url, token: httpApi.AuthorizationBearerToken } : target;
}

/** GETs the status with the token and parses it; errors name the URL, never the token. */
async function readStatus(api: { url: string; token: string }, options: ProbeGetOptions): Promise<{ ok: true; body: unknown } | { ok: false; error: string }> {
  const answer = await probeGet(api.url, { ...options, headers: { authorization: `Bearer ${api.token}` } });
  // fetch quotes an invalid header value in its error: the token must not reach the output.
  if (!answer.ok) return { ok: false, error: `GET ${api.url}: ${answer.error.split(api.token).join('<HttpApi.AuthorizationBearerToken>')}` };
  if (answer.status === 401) {
    return { ok: false, error: `GET ${api.url} answered 401: the running Corporal has another HttpApi.AuthorizationBearerToken than ${HEALTHCHECK_CONFIG_ENV}'s config` };
  }
  if (answer.status !== 200) return { ok: false, error: `GET ${api.url} answered ${answer.status}` };
  try {
    return { ok: true, body: JSON.parse(answer.body) as unknown };
  } catch {
    return { ok: false, error: `GET ${api.url} answered 200 with a body that is not JSON` };
  }
}
