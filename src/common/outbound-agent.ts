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
 * - an `https` URL goes through `HTTPS_PROXY` only, and directly without it (undici would fall back
 *   to `HTTP_PROXY`; Go did not).
 * Which URLs go directly is Go's decision too, taken here for every request (`no-proxy.ts`):
 * `NO_PROXY` entries are names (`foo.com` and its subdomains; `.foo.com` or `*.foo.com` the
 * subdomains only), IP addresses and CIDR ranges, each optionally with `:port`, or `*`; `localhost`
 * and every loopback address are never proxied.
 *
 * `http` URLs are sent to an `http` proxy as absolute-URI requests, as Go did (no `CONNECT`:
 * proxies commonly allow `CONNECT` to port 443 only); `https` URLs are tunnelled with `CONNECT`.
 * A proxy URL may carry credentials (`http://user:password@proxy:3128`); they become a
 * `Proxy-Authorization: Basic` header as Go's transport built it (`user:` for a user without
 * password, where undici would send nothing), and the URL is never logged nor put into an error
 * message.
 */
import { Agent, Dispatcher, Pool, ProxyAgent } from 'undici';
import { bypassesProxy, parseNoProxy } from './no-proxy.js';
import { RoutingDispatcher } from './routing-dispatcher.js';
import { takeBasicAuth } from './service-url.js';

/** Proxy variables, as the outbound client reads them. */
export interface ProxyEnvironment {
  /** Proxy of `http` URLs ('' = direct). */
  httpProxy: string;
  /** Proxy of `https` URLs ('' = direct). */
  httpsProxy: string;
  /** The `NO_PROXY` list as set ('' = none), read by `parseNoProxy`. */
  noProxy: string;
}

/** Proxy schemes undici's ProxyAgent speaks; anything else is read as a scheme-less `host:port`. */
const PROXY_SCHEME = /^(?:https?|socks5?):\/\//i;

/** Thrown (and then raised by every request) for a proxy variable that is not a usable URL. */
export class InvalidProxyError extends Error {}

/**
 * Reads `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (upper case first, then lower case), the proxies
 * normalised as described above, `NO_PROXY` as set. Throws {@link InvalidProxyError} naming the variable, never its value, when a
 * proxy is not a URL (values may carry credentials).
 */
export function readProxyEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyEnvironment {
  return { httpProxy: proxyUrl(env, 'HTTP_PROXY'), httpsProxy: proxyUrl(env, 'HTTPS_PROXY'), noProxy: variable(env, 'NO_PROXY') };
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
  // The credentials are decoded for the Proxy-Authorization header or the socks5 handshake: a
  // malformed escape would throw there.
  if (takeBasicAuth(new URL(url.href)) === undefined) throw new InvalidProxyError(`${name} is not a valid proxy URL`);
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
 * when no proxy variable is set, else a dispatcher that sends each request directly or through
 * the proxy of its scheme, with the same limits on every connection pool it opens (to services
 * directly, to the proxy, and through it). A proxy variable that is not a URL does not stop
 * Corporal: every request of this client then fails with "HTTP_PROXY is not a valid proxy URL"
 * (Go's transport failed each request likewise). The caller closes the client.
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
  let viaHttpProxy: Dispatcher | null;
  let viaHttpsProxy: Dispatcher | null;
  try {
    viaHttpProxy = proxies.httpProxy === '' ? null : proxyAgent(base, limits, proxies.httpProxy, tls);
    viaHttpsProxy = proxies.httpsProxy === '' ? null : proxyAgent(base, limits, proxies.httpsProxy, tls);
  } catch {
    // Whatever else undici refuses in a proxy URL: the same per-request failure, never the value.
    return failingAgent(base, new InvalidProxyError('HTTP_PROXY or HTTPS_PROXY is not a valid proxy URL'));
  }
  const direct = new Agent(base);
  const noProxy = parseNoProxy(proxies.noProxy);
  // Go's `proxyForURL`: the proxy of the URL's scheme (none for another scheme), unless NO_PROXY
  // or a loopback host says direct. An https URL without HTTPS_PROXY goes direct, where undici
  // would have used HTTP_PROXY (verification 18, V4).
  const route = (origin: URL | null): Dispatcher => {
    if (origin === null || bypassesProxy(noProxy, origin)) return direct;
    const proxied = origin.protocol === 'https:' ? viaHttpsProxy : origin.protocol === 'http:' ? viaHttpProxy : null;
    return proxied ?? direct;
  };
  return new RoutingDispatcher(route, [direct, viaHttpProxy ?? direct, viaHttpsProxy ?? direct]);
}

/** A client every request of which fails with `err`: a bad proxy variable must not stop a process at start. */
function failingAgent(base: Agent.Options, err: unknown): Dispatcher {
  return new Agent(base).compose(() => () => {
    throw err;
  });
}

/**
 * The client of requests sent through the proxy at `uri`, with the limits of direct ones. The
 * credentials of an `http(s)` proxy URL are sent as Go's transport sent them
 * (`connectMethod.proxyAuth` in net/http's transport.go: `Basic` of `username:password` as soon as
 * the URL has user information, `user:` for a user name alone, where undici sends nothing without
 * a password) and taken out of the URL undici keeps. A `socks5` proxy authenticates in its own
 * handshake with the URL's. (The WHATWG URL does not tell `http://@proxy` from `http://proxy`: Go
 * sent `Basic Og==` for the first, Corporal nothing for either.)
 */
function proxyAgent(base: Agent.Options, limits: NonNullable<OutboundAgentOptions['agent']>, uri: string, tls: { timeout: number }): Dispatcher {
  const url = new URL(uri);
  const token = url.protocol === 'http:' || url.protocol === 'https:' ? takeBasicAuth(url) : null;
  return new ProxyAgent({
    ...base,
    uri: url.href,
    ...(typeof token === 'string' ? { token } : {}),
    proxyTunnel: false,
    proxyTls: tls,
    requestTls: tls,
    // undici builds the pool to an absolute-URI proxy with only its connector: the limits (pool
    // size, keep-alive, headers/body timeouts) are merged back in here, for every pool it opens.
    factory: (origin, opts) => new Pool(origin, { ...limits, ...(opts as Pool.Options) }),
  });
}
