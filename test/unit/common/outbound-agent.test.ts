/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY for the calls matrix-corporal made with Go's default
 * transport: the http policy provider, avatar downloads, `rest` auth and hook REST services. Each
 * client is the real one, pointed at real loopback servers: a forward proxy that records what it got
 * and answers absolute-URI requests itself (its names, `*.corp.invalid`, do not resolve), and a
 * service on 127.0.0.1 reached directly. Go never proxies a loopback address, so the service is
 * named `0.0.0.0` where a request must be free to take the proxy: Go does not count that address as
 * loopback, and Linux connects to it on the local host.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { createOutboundAgent, readProxyEnvironment } from '../../../src/common/outbound-agent.js';
import { HttpProvider } from '../../../src/control/providers/http-provider.js';
import { createAvatarDispatcher, readAvatarSource } from '../../../src/control/apply/avatar-source.js';
import { createRestAgent } from '../../../src/offload/rest-agent.js';
import { verifyRest } from '../../../src/offload/verify-rest.js';
import { consultHook, type ConsultHookInput } from '../../../src/offload/consult-hook.js';
import { captureLogger, testPolicyText, testStore } from '../../support/control-plane.js';
import { findFreePort } from '../../support/free-port.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

interface Seen { method: string; url: string; proxyAuthorization: string | undefined }

/** Answers the four services by path, wherever the request arrives (at the proxy or directly). */
function answer(req: IncomingMessage, res: ServerResponse, via: string): void {
  const path = req.url!.replace(/^http:\/\/[^/]+/, '');
  req.resume();
  req.on('end', () => {
    if (path === '/policy') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(testPolicyText(via));
    } else if (path === '/a.png') {
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    } else if (path === '/auth') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ auth: { success: true, profile: { display_name: via } } }));
    } else if (path === '/hook') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ action: 'pass.unmodified' }));
    } else {
      res.writeHead(404).end();
    }
  });
}

async function listen(t: Test, host: string, via: string): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, proxyAuthorization: req.headers['proxy-authorization'] });
    answer(req, res, via);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { origin: `http://${host}:${(server.address() as AddressInfo).port}`, seen };
}

/** Sets the proxy variables (all others cleared) for the clients built in `t`, restored after it. */
function proxyEnv(t: Test, vars: Record<string, string>): void {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, vars);
  t.teardown(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/** A proxy that refuses every `CONNECT`, recording each; `http://127.0.0.1:<port>` is its origin. */
async function listenRefusingTunnels(t: Test): Promise<{ origin: string; connects: IncomingMessage[] }> {
  const connects: IncomingMessage[] = [];
  const proxy = createServer((_req, res) => res.writeHead(404).end());
  proxy.on('connect', (req: IncomingMessage, socket: import('node:net').Socket) => {
    connects.push(req);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { proxy.closeAllConnections(); proxy.close(() => resolve()); }));
  return { origin: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, connects };
}

/** One `rest` auth call to `url` with a client built for `env`, closed afterwards. */
async function verifyWith(env: NodeJS.ProcessEnv, url: string): ReturnType<typeof verifyRest> {
  const dispatcher = createOutboundAgent({ connectTimeoutMs: 1000, env });
  try {
    return await verifyRest({ url, userId: '@alice:example.com', password: 'pw', timeoutMs: 2000 }, dispatcher);
  } finally {
    await dispatcher.close();
  }
}

/** Each client, built after the environment is set, fetching `${origin}/<its path>`; resolves with what it got. */
const clients: Record<string, (t: Test, origin: string) => Promise<string>> = {
  async 'http policy provider'(t, origin) {
    const { logger } = captureLogger();
    const { store } = testStore({ logger });
    const provider = new HttpProvider({ uri: `${origin}/policy`, bearerToken: 'tok', cachePath: null, reloadIntervalMs: null, timeoutMs: 3000, store, logger, startRetry: { initialMs: 60_000, maxMs: 60_000 } });
    t.teardown(() => provider.stop());
    await provider.start();
    return String(store.current?.document.identificationStamp ?? 'no policy');
  },
  async 'avatar download'(t, origin) {
    const dispatcher = createAvatarDispatcher(3000);
    t.teardown(() => dispatcher.close());
    const avatar = await readAvatarSource(`${origin}/a.png`, { maxBytes: 1024, timeoutMs: 3000, dispatcher });
    return `${avatar.contentType} ${avatar.data.length}`;
  },
  async 'rest auth'(t, origin) {
    const dispatcher = createRestAgent();
    t.teardown(() => dispatcher.close());
    const result = await verifyRest({ url: `${origin}/auth`, userId: '@alice:example.com', password: 'pw', timeoutMs: 3000 }, dispatcher);
    return result.ok ? `authenticated=${result.value.authenticated} ${result.value.displayName ?? ''}` : `${result.code}: ${result.message}`;
  },
  async 'hook consultation'(t, origin) {
    const dispatcher = createRestAgent();
    t.teardown(() => dispatcher.close());
    const input: ConsultHookInput = {
      hookId: 'h',
      userId: '@alice:example.com',
      request: { uri: '/_matrix/client/v3/account/whoami', path: '/_matrix/client/v3/account/whoami', method: 'GET', headers: [], body: Buffer.alloc(0) },
      response: null,
      maxAnswerBytes: 64 * 1024,
      abandonAt: null,
      service: { url: `${origin}/hook`, method: 'POST', headers: {}, timeoutMs: 3000, retryAttempts: 0, retryWaitMs: 0 },
    };
    const result = await consultHook(input, { dispatcher });
    return result.ok ? `hook ${result.value.hook.action}` : `${result.code}: ${result.message}`;
  },
};

/** What each client reports after a successful exchange with the service named `via`. */
const success: Record<string, (via: string) => string> = {
  'http policy provider': (via) => `test-${via}`,
  'avatar download': () => `image/png ${PNG.length}`,
  'rest auth': (via) => `authenticated=true ${via}`,
  'hook consultation': () => 'hook pass.unmodified',
};
const PATHS: Record<string, string> = { 'http policy provider': '/policy', 'avatar download': '/a.png', 'rest auth': '/auth', 'hook consultation': '/hook' };
const METHODS: Record<string, string> = { 'http policy provider': 'GET', 'avatar download': 'GET', 'rest auth': 'POST', 'hook consultation': 'POST' };

for (const [name, fetchWith] of Object.entries(clients)) {
  t.test(`${name}: HTTP_PROXY is honoured, NO_PROXY exempts a host, nothing changes without the variables`, async (t) => {
    const proxy = await listen(t, '127.0.0.1', 'proxy');
    const direct = await listen(t, '127.0.0.1', 'direct');
    /** The direct service by an address that is not loopback. */
    const service = direct.origin.replace('127.0.0.1', '0.0.0.0');

    await t.test('HTTP_PROXY: an absolute-URI request to the proxy, credentials as Proxy-Authorization', async (t) => {
      proxyEnv(t, { HTTP_PROXY: proxy.origin.replace('http://', 'http://corp:pr%40xy-secret@') });
      t.equal(await fetchWith(t, 'http://service.corp.invalid'), success[name]!('proxy'));
      t.same(proxy.seen.map(({ method, url }) => `${method} ${url}`), [`${METHODS[name]} http://service.corp.invalid${PATHS[name]}`]);
      t.equal(proxy.seen[0]?.proxyAuthorization, `Basic ${Buffer.from('corp:pr@xy-secret').toString('base64')}`);
      proxy.seen.length = 0;
    });

    await t.test('lower-case http_proxy; an IP host not in NO_PROXY goes through the proxy too', async (t) => {
      proxyEnv(t, { http_proxy: proxy.origin, NO_PROXY: 'elsewhere.example' });
      t.equal(await fetchWith(t, service), success[name]!('proxy'));
      t.equal(proxy.seen.length, 1);
      t.equal(proxy.seen[0]?.url, `${service}${PATHS[name]}`);
      t.equal(direct.seen.length, 0, 'the service was not contacted directly');
      proxy.seen.length = 0;
    });

    for (const [noProxy, what] of [['example.org, 0.0.0.0', 'the host'], ['example.org,0.0.0.0/8', 'a CIDR holding the IP host']] as const) {
      await t.test(`NO_PROXY exempts ${what}: a direct connection`, async (t) => {
        proxyEnv(t, { HTTP_PROXY: proxy.origin, NO_PROXY: noProxy });
        t.equal(await fetchWith(t, service), success[name]!('direct'));
        t.equal(proxy.seen.length, 0, 'the proxy was not contacted');
        t.equal(direct.seen.length, 1);
        t.equal(direct.seen[0]?.url, PATHS[name], 'an origin-form request');
        direct.seen.length = 0;
      });
    }

    await t.test('loopback names and addresses are never proxied (as in Go)', async (t) => {
      proxyEnv(t, { HTTP_PROXY: proxy.origin });
      // 127.0.0.2 is loopback like 127.0.0.1: reached directly without being listed.
      const other = await listen(t, '127.0.0.2', 'direct');
      t.equal(await fetchWith(t, other.origin), success[name]!('direct'));
      t.equal(other.seen.length, 1);
      const loopback = direct.origin.replace('127.0.0.1', 'localhost');
      // `localhost` may resolve to ::1, where nothing listens on that port: the request may fail,
      // but it must not reach the proxy either.
      await fetchWith(t, loopback).catch(() => 'failed');
      t.equal(proxy.seen.length, 0, 'the proxy was not contacted');
      direct.seen.length = 0;
    });

    await t.test('no proxy variable: a direct connection, as before', async (t) => {
      proxyEnv(t, {});
      t.equal(await fetchWith(t, service), success[name]!('direct'));
      t.equal(proxy.seen.length, 0);
      t.equal(direct.seen.length, 1);
      direct.seen.length = 0;
    });
  });
}

t.test('readProxyEnvironment: Go precedence and normalisation', async (t) => {
  t.same(readProxyEnvironment({}), { httpProxy: '', httpsProxy: '', noProxy: '' });
  t.same(readProxyEnvironment({ HTTP_PROXY: 'http://upper:3128', http_proxy: 'http://lower:3128', https_proxy: 'proxy.corp:8080', no_proxy: 'synapse' }), {
    httpProxy: 'http://upper:3128/',
    httpsProxy: 'http://proxy.corp:8080/',
    noProxy: 'synapse',
  }, 'upper case first; a scheme-less value means http://');
  t.same(readProxyEnvironment({ HTTP_PROXY: '', http_proxy: 'http://lower:3128', NO_PROXY: '', no_proxy: 'a, *' }), { httpProxy: 'http://lower:3128/', httpsProxy: '', noProxy: 'a, *' }, 'empty = unset');
  t.throws(() => readProxyEnvironment({ HTTPS_PROXY: 'http://corp:pr0xy-secret@[bad' }), { message: 'HTTPS_PROXY is not a valid proxy URL' });
});

t.test('an invalid proxy URL fails each request without showing the value, and does not throw at construction', async (t) => {
  const dispatcher: Dispatcher = createOutboundAgent({ connectTimeoutMs: 1000, env: { HTTP_PROXY: 'http://corp:pr0xy-secret@[bad' } });
  t.teardown(() => dispatcher.close());
  const result = await verifyRest({ url: 'http://service.corp.invalid/auth', userId: '@alice:example.com', password: 'pw', timeoutMs: 2000 }, dispatcher);
  t.equal(result.ok, false);
  t.match(JSON.stringify(result), /HTTP_PROXY is not a valid proxy URL/);
  t.notMatch(JSON.stringify(result), /pr0xy-secret/);
});

t.test('docs audit 18 #7: proxy credentials with a malformed %-escape fail each request too, and do not throw at construction', async (t) => {
  for (const env of [{ HTTP_PROXY: 'http://corp:p%@127.0.0.1:3128' }, { HTTPS_PROXY: 'http://c%zzrp:secret@127.0.0.1:3128' }]) {
    const dispatcher: Dispatcher = createOutboundAgent({ connectTimeoutMs: 1000, env });
    t.teardown(() => dispatcher.close());
    const result = await verifyRest({ url: 'https://service.corp.invalid/auth', userId: '@alice:example.com', password: 'pw', timeoutMs: 2000 }, dispatcher);
    t.equal(result.ok, false);
    t.match(JSON.stringify(result), /is not a valid proxy URL/);
    t.notMatch(JSON.stringify(result), /secret|p%@/);
  }
});

t.test('verification 18, V4: with HTTP_PROXY alone, https URLs go direct, as Go sent them (HTTPS_PROXY still takes them)', async (t) => {
  const proxy = await listenRefusingTunnels(t);
  const closedPort = await findFreePort();
  // Not a loopback address (those are never proxied); Linux connects to it on the local host.
  const target = `https://0.0.0.0:${closedPort}/auth`;
  const direct = await verifyWith({ HTTP_PROXY: proxy.origin }, target);
  t.match(direct, { ok: false, message: /ECONNREFUSED/ }, 'tried directly: the closed port refused');
  t.same(proxy.connects, [], 'nothing reached the HTTP proxy');
  await verifyWith({ HTTP_PROXY: proxy.origin, HTTPS_PROXY: proxy.origin }, target);
  t.same(proxy.connects.map((req) => req.url), [`0.0.0.0:${closedPort}`], 'HTTPS_PROXY set: tunnelled through it');
});

t.test('a proxy that cannot be reached: the provider logs the failure, never the proxy credentials', async (t) => {
  const port = await findFreePort();
  proxyEnv(t, { HTTP_PROXY: `http://corp:pr0xy-secret@127.0.0.1:${port}` });
  const { logger, raw } = captureLogger();
  const { store } = testStore({ logger });
  const provider = new HttpProvider({ uri: 'http://policy.corp.invalid/policy', bearerToken: null, cachePath: null, reloadIntervalMs: null, timeoutMs: 3000, store, logger, startRetry: { initialMs: 60_000, maxMs: 60_000 } });
  t.teardown(() => provider.stop());
  await provider.start();
  t.equal(store.current, null);
  t.match(raw.join('\n'), /fetching http:\/\/policy\.corp\.invalid\/policy failed: .*ECONNREFUSED/);
  t.notMatch(raw.join('\n'), /pr0xy-secret|corp:/);
});

t.test('a proxy user without a password is sent as Go sent it: Basic of `user:`, absolute-URI and CONNECT alike', async (t) => {
  const proxy = await listen(t, '127.0.0.1', 'proxy');
  const tunnelling = await listenRefusingTunnels(t);
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
  t.match(await verifyWith({ HTTP_PROXY: proxy.origin.replace('http://', 'http://c%40rp@') }, 'http://service.corp.invalid/auth'), { ok: true });
  t.match(await verifyWith({ HTTP_PROXY: proxy.origin.replace('http://', 'http://:pr0xy-secret@') }, 'http://service.corp.invalid/auth'), { ok: true });
  t.same(proxy.seen.map((seen) => seen.proxyAuthorization), [basic('c@rp:'), basic(':pr0xy-secret')], 'user alone, password alone');
  const refused = await verifyWith({ HTTPS_PROXY: tunnelling.origin.replace('http://', 'http://corp@') }, 'https://service.corp.invalid/auth');
  t.equal(refused.ok, false, 'the tunnel was refused');
  t.same(tunnelling.connects.map((req) => req.headers['proxy-authorization']), [basic('corp:')], 'the CONNECT carried it');
});

t.test('NO_PROXY `.name` covers the subdomains only, `name` the name as well (Go)', async (t) => {
  const proxy = await listen(t, '127.0.0.1', 'proxy');
  const ask = (noProxy: string, url: string) => verifyWith({ HTTP_PROXY: proxy.origin, NO_PROXY: noProxy }, url);
  // Names under .invalid never resolve: a direct attempt fails, a proxied one reaches the proxy.
  t.match(await ask('.corp.invalid', 'http://corp.invalid/auth'), { ok: true }, '`.corp.invalid` does not cover corp.invalid');
  t.match(await ask('*.corp.invalid', 'http://corp.invalid/auth'), { ok: true }, 'nor does `*.corp.invalid`');
  t.match(await ask('.corp.invalid', 'http://service.corp.invalid/auth'), { ok: false }, 'a subdomain goes direct');
  t.match(await ask('corp.invalid', 'http://corp.invalid/auth'), { ok: false }, '`corp.invalid` covers the name itself');
  t.same(proxy.seen.map((seen) => seen.url), ['http://corp.invalid/auth', 'http://corp.invalid/auth']);
});
