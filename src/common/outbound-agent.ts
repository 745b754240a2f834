/**
 * The HTTP client of calls to the services an operator points Corporal at, outside the homeserver:
 * the `http` policy provider, avatar downloads, `rest` auth services and hook REST services.
 *
 * matrix-corporal made those calls with Go's default transport, which honours `HTTP_PROXY`,
 * `HTTPS_PROXY` and `NO_PROXY` (and their lower-case forms); deployments behind an egress proxy rely
 * on it. Synapse is never reached through this client: the gateway's pools and the reconciler's
 * admin client connect directly (Synapse sits on the operator's own network).
 *
 * The variables are read once, when the client is built (Go read them once per process too), the
 * way Go's `httpproxy.FromEnvironment` reads them:
 * - the upper-case name wins over the lower-case one; an empty value counts as unset;
 * - a value without a scheme (`proxy.corp:3128`) means `http://`;
 * - `localhost` and the loopback addresses `127.0.0.1` and `::1` never go through the proxy;
 * - `NO_PROXY` is a comma- or space-separated list of host names (a name covers its subdomains; a
 *   leading `.` or `*.` is dropped), optionally with `:port`, or `*` (nothing is proxied).
 * - an `https` URL goes through `HTTPS_PROXY` only, and directly without it (undici would fall back
 *   to `HTTP_PROXY`; Go did not).
 * Difference from Go, left to undici's `EnvHttpProxyAgent`: `NO_PROXY` entries are matched as
 * names only (no CIDR ranges; other loopback addresses such as 127.0.0.2 are proxied).
 *
 * `http` URLs are sent to an `http` proxy as absolute-URI requests, as Go did (no `CONNECT`:
 * proxies commonly allow `CONNECT` to port 443 only); `https` URLs are tunnelled with `CONNECT`.
 * A proxy URL may carry credentials (`http://user:password@proxy:3128`); they become a
 * `Proxy-Authorization` header and the URL is never logged nor put into an error message.
 */
import { isIPv6 } from 'node:net';
import { Agent, Dispatcher, EnvHttpProxyAgent, Pool } from 'undici';

/** Proxy variables, as the outbound client reads them. */
export interface ProxyEnvironment {
  /** Proxy of `http` URLs ('' = direct). */
  httpProxy: string;
  /** Proxy of `https` URLs ('' = the `http` one). */
  httpsProxy: string;
  /** Hosts reached directly, with the loopback names added. */
  noProxy: string;
}

/** Always reached directly, whatever `NO_PROXY` says (Go's `useProxy` refuses them too). */
const LOOPBACK_HOSTS = 'localhost,127.0.0.1,[::1]';

/** Proxy schemes undici's ProxyAgent speaks; anything else is read as a scheme-less `host:port`. */
const PROXY_SCHEME = /^(?:https?|socks5?):\/\//i;

/** Thrown (and then raised by every request) for a proxy variable that is not a usable URL. */
export class InvalidProxyError extends Error {}

/**
 * Reads `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (upper case first, then lower case), normalised as
 * described above. Throws {@link InvalidProxyError} naming the variable, never its value, when a
 * proxy is not a URL (values may carry credentials).
 */
export function readProxyEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyEnvironment {
  // undici compares an IPv6 host with its brackets; Go's list takes the bare address.
  const entries = variable(env, 'NO_PROXY').split(/[,\s]/).filter((entry) => entry !== '').map((entry) => (isIPv6(entry) ? `[${entry}]` : entry));
  const noProxy = entries.join(',');
  // `*` anywhere in the list means every host (Go); undici knows `*` only as the whole value.
  const everyHost = entries.includes('*');
  return {
    httpProxy: proxyUrl(env, 'HTTP_PROXY'),
    httpsProxy: proxyUrl(env, 'HTTPS_PROXY'),
    noProxy: everyHost ? '*' : noProxy === '' ? LOOPBACK_HOSTS : `${noProxy},${LOOPBACK_HOSTS}`,
  };
}

function variable(env: NodeJS.ProcessEnv, name: string): string {
  const upper = env[name];
  if (upper !== undefined && upper !== '') return upper;
  return env[name.toLowerCase()] ?? '';
}

function proxyUrl(env: NodeJS.ProcessEnv, name: string): string {
  const value = variable(env, name).trim();
  if (value === '') return '';
  const withScheme = PROXY_SCHEME.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidProxyError(`${name} is not a valid proxy URL`);
  }
  if (url.hostname === '') throw new InvalidProxyError(`${name} is not a valid proxy URL`);
  // undici decodes the credentials when it builds the client: a malformed escape would throw there.
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new InvalidProxyError(`${name} is not a valid proxy URL`);
  }
  return url.href;
}

/** Options of {@link createOutboundAgent}. */
export interface OutboundAgentOptions {
  /** Time limit of each connection set-up: TCP connect and TLS handshake, to the service or to the proxy. */
  connectTimeoutMs: number;
  /** Any other undici Agent options (connections, keep-alive, headers/body timeouts); kept through a proxy as well. */
  agent?: Omit<Agent.Options, 'connect' | 'connectTimeout' | 'factory'>;
  /** Where the proxy variables are read (tests); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the client of one kind of outbound call (see the module comment): a plain undici Agent
 * when no proxy variable is set, else an `EnvHttpProxyAgent` with the same limits on every
 * connection pool it opens (to services directly, to the proxy, and through it). A proxy variable
 * that is not a URL does not stop Corporal: every request of this client then fails with
 * "HTTP_PROXY is not a valid proxy URL" (Go's transport failed each request likewise). The caller
 * closes the client.
 */
export function createOutboundAgent(options: OutboundAgentOptions): Dispatcher {
  const limits = options.agent ?? {};
  const base: Agent.Options = { ...limits, connect: { timeout: options.connectTimeoutMs } };
  let proxies: ProxyEnvironment;
  try {
    proxies = readProxyEnvironment(options.env);
  } catch (err) {
    return failingAgent(base, err);
  }
  if (proxies.httpProxy === '' && proxies.httpsProxy === '') return new Agent(base);
  // The connection to the proxy and the TLS handshake through a tunnel get the connect limit too.
  const tls = { timeout: options.connectTimeoutMs };
  try {
    const proxied = proxyAgent(base, limits, proxies, tls);
    // Go takes the proxy of an `https` URL from HTTPS_PROXY only and goes direct without it;
    // undici would send it through HTTP_PROXY (verification 18, V4).
    return proxies.httpsProxy === '' ? new ByProtocol(proxied, new Agent(base)) : proxied;
  } catch {
    // Whatever else undici refuses in a proxy URL: the same per-request failure, never the value.
    return failingAgent(base, new InvalidProxyError('HTTP_PROXY or HTTPS_PROXY is not a valid proxy URL'));
  }
}

/**
 * Routes requests to `https:` origins to `https`, every other one to `http`; closes and destroys
 * both.
 */
class ByProtocol extends Dispatcher {
  constructor(private readonly http: Dispatcher, private readonly https: Dispatcher) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (String(options.origin ?? '').startsWith('https:') ? this.https : this.http).dispatch(options, handler);
  }

  // One signature for undici's overloads: a promise, or the callback when one is given.
  override close(callback?: () => void): any {
    const closed = Promise.all([this.http.close(), this.https.close()]).then(() => undefined);
    if (callback === undefined) return closed;
    closed.then(callback, callback);
  }

  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): any {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const done = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const destroyed = Promise.all([this.http.destroy(err), this.https.destroy(err)]).then(() => undefined);
    if (done === undefined) return destroyed;
    destroyed.then(done, done);
  }
}

/** A client every request of which fails with `err`: a bad proxy variable must not stop a process at start. */
function failingAgent(base: Agent.Options, err: unknown): Dispatcher {
  return new Agent(base).compose(() => () => {
    throw err;
  });
}

function proxyAgent(base: Agent.Options, limits: NonNullable<OutboundAgentOptions['agent']>, proxies: ProxyEnvironment, tls: { timeout: number }): Dispatcher {
  return new EnvHttpProxyAgent({
    ...base,
    httpProxy: proxies.httpProxy,
    httpsProxy: proxies.httpsProxy,
    noProxy: proxies.noProxy,
    proxyTunnel: false,
    proxyTls: tls,
    requestTls: tls,
    // undici builds the pool to an absolute-URI proxy with only its connector: the limits (pool
    // size, keep-alive, headers/body timeouts) are merged back in here, for every pool it opens.
    factory: (origin, opts) => new Pool(origin, { ...limits, ...(opts as Pool.Options) }),
  });
}
