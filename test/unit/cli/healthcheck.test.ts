import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  DEFAULT_CONTAINER_CONFIG_PATH, HEALTHCHECK_PATH, probeUrlOf, runHealthcheck,
} from '../../../src/cli/healthcheck.js';
import { STATUS_BODY_LIMIT_BYTES } from '../../../src/cli/readiness.js';
import { INFO_PATH } from '../../../src/gateway/router/route-request.js';

t.test('probes the gateway info route', async (t) => {
  t.equal(HEALTHCHECK_PATH, INFO_PATH);
});

const urls: Array<[string, string]> = [
  ['0.0.0.0:41080', 'http://127.0.0.1:41080/_matrix/client/corporal'],
  [':41080', 'http://127.0.0.1:41080/_matrix/client/corporal'],
  ['[::]:41080', 'http://127.0.0.1:41080/_matrix/client/corporal'],
  ['[0:0:0:0:0:0:0:0]:41080', 'http://127.0.0.1:41080/_matrix/client/corporal'],
  ['127.0.0.1:41080', 'http://127.0.0.1:41080/_matrix/client/corporal'],
  ['10.1.2.3:8080', 'http://10.1.2.3:8080/_matrix/client/corporal'],
  ['[::1]:41080', 'http://[::1]:41080/_matrix/client/corporal'],
  ['[fd00::5]:41080', 'http://[fd00::5]:41080/_matrix/client/corporal'],
  ['matrix-corporal:41080', 'http://matrix-corporal:41080/_matrix/client/corporal'],
];
for (const [address, url] of urls) {
  t.test(`${address} → ${url}`, async (t) => {
    t.same(probeUrlOf(address), { ok: true, url });
  });
}

const unprobeable: Array<[string, RegExp]> = [
  ['0.0.0.0:0', /port 0/],
  ['41080', /not host:port/],
  ['0.0.0.0:70000', /not host:port/],
];
for (const [address, error] of unprobeable) {
  t.test(`${address} cannot be probed`, async (t) => {
    const result = probeUrlOf(address);
    t.notOk(result.ok);
    if (!result.ok) t.match(result.error, error);
  });
}

t.test('another path on another listener; errors name its setting', async (t) => {
  t.same(probeUrlOf('[::]:41081', '/_matrix/corporal/status', 'HttpApi.ListenAddress'), { ok: true, url: 'http://127.0.0.1:41081/_matrix/corporal/status' });
  t.same(probeUrlOf(':0', '/_matrix/corporal/status', 'HttpApi.ListenAddress'), { ok: false, error: 'HttpApi.ListenAddress has port 0 (a random port), which cannot be probed' });
});

/**
 * A config file as matrix-corporal's docs spell it, with the listen addresses under differently
 * cased keys; the HTTP API is disabled unless `api` is given.
 */
function configText(listenAddress: string, api?: { listenAddress: string; token: string; enabled?: boolean }): string {
  return JSON.stringify({
    matrix: { homeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://127.0.0.1:8008', AuthSharedSecret: 's3cret', TimeoutMilliseconds: 1000 },
    Corporal: { UserId: '@corporal:example.com' },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HTTPGATEWAY: { listenaddress: listenAddress, TimeoutMilliseconds: 2000 },
    httpapi: api === undefined
      ? { TimeoutMilliseconds: 3000 }
      : { enabled: api.enabled ?? true, ListenAddress: api.listenAddress, authorizationBearerToken: api.token, TimeoutMilliseconds: 3000 },
    PolicyProvider: { Type: 'last_seen_store_policy', CachePath: '/var/cache/policy.json' },
  });
}

t.test('runHealthcheck reads the config and GETs the gateway', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-healthcheck-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let status = 200;
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} HTTP/${req.httpVersion} host=${req.headers.host ?? ''}`);
    res.statusCode = status;
    res.end('Matrix Client-Server API protected by Matrix Corporal');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const path = join(dir, 'config.json');
  await writeFile(path, configText(`0.0.0.0:${port}`));

  const lines: string[] = [];
  const run = () => runHealthcheck({ env: { CORPORAL_CONFIG: path }, fetch: globalThis.fetch, out: (line) => lines.push(line), timeoutMs: 2000 });

  t.equal(await run(), 0);
  t.match(lines.pop(), /^healthy: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal answered 200$/);
  // The gateway (uWebSockets.js) only answers HTTP/1.1 with a Host header.
  t.same(seen, [`GET /_matrix/client/corporal HTTP/1.1 host=127.0.0.1:${port}`]);

  status = 503;
  t.equal(await run(), 1);
  t.match(lines.pop(), /^unhealthy: .* answered 503$/);

  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.equal(await run(), 1);
  t.match(lines.pop(), /^unhealthy: GET .*: fetch failed: ECONNREFUSED$/);
});

t.test('runHealthcheck times out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-healthcheck-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const server = createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const path = join(dir, 'config.json');
  await writeFile(path, configText(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  const lines: string[] = [];
  t.equal(await runHealthcheck({ env: { CORPORAL_CONFIG: path }, fetch: globalThis.fetch, out: (line) => lines.push(line), timeoutMs: 200 }), 1);
  t.match(lines, [/^unhealthy: GET .*: no answer within 200 ms$/]);
});

t.test('runHealthcheck reports a missing or invalid config', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-healthcheck-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fetch = (() => { throw new Error('must not be called'); }) as unknown as typeof globalThis.fetch;
  const lines: string[] = [];
  t.equal(await runHealthcheck({ env: { CORPORAL_CONFIG: join(dir, 'missing.json') }, fetch, out: (line) => lines.push(line) }), 1);
  t.match(lines.pop(), /^unhealthy: cannot load .*missing\.json \(set CORPORAL_CONFIG/);

  const path = join(dir, 'config.json');
  await writeFile(path, configText('0.0.0.0:0'));
  t.equal(await runHealthcheck({ env: { CORPORAL_CONFIG: path }, fetch, out: (line) => lines.push(line) }), 1);
  t.match(lines.pop(), /port 0/);
});

t.test('without CORPORAL_CONFIG the image default path is read', { skip: existsSync('/etc/matrix-corporal/config.json') && 'the image default path exists here' }, async (t) => {
  const lines: string[] = [];
  const fetch = (() => { throw new Error('must not be called'); }) as unknown as typeof globalThis.fetch;
  // Not present on a development machine; the message names the path that was tried.
  t.equal(DEFAULT_CONTAINER_CONFIG_PATH, '/etc/matrix-corporal/config.json');
  const code = await runHealthcheck({ env: {}, fetch, out: (line) => lines.push(line) });
  t.equal(code, 1);
  t.match(lines.pop(), /cannot load \/etc\/matrix-corporal\/config\.json/);
});

// ---- --ready -------------------------------------------------------------------------------------

const TOKEN = 'api-s3cret-token';
const READY_STATUS = {
  policy: { generation: 2 },
  gateway: { threadsAlive: 1, threadsConfigured: 1, snapshotGeneration: 2, threads: [{ index: 1, alive: true, generation: 2, restarts: 0 }] },
  reconciler: { state: 'ready', failedAttempts: 0, lastError: null, nextAttemptAt: null },
};

/**
 * A fake gateway and a fake HTTP API (each a loopback server answering what the test sets), and a
 * config naming both. `run()` runs the readiness check and returns its exit code and line.
 */
async function readinessScene(t: Test, api: { token?: string; enabled?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-healthcheck-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const scene = {
    configPath: path,
    gatewayStatus: 200,
    apiStatus: 200,
    apiBody: JSON.stringify(READY_STATUS) as string | null,
    seen: [] as string[],
    run: async (): Promise<{ code: number; line: string }> => {
      const lines: string[] = [];
      const code = await runHealthcheck({ env: { CORPORAL_CONFIG: path }, fetch: globalThis.fetch, out: (line) => lines.push(line), timeoutMs: 2000 }, 'readiness');
      t.equal(lines.length, 1, 'one line');
      return { code, line: lines[0]! };
    },
  };
  const start = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => { server.closeAllConnections(); server.close(); });
    return (server.address() as AddressInfo).port;
  };
  const gatewayPort = await start((req, res) => {
    scene.seen.push(`gateway ${req.url}`);
    res.statusCode = scene.gatewayStatus;
    res.end('Matrix Client-Server API protected by Matrix Corporal');
  });
  const apiPort = await start((req, res) => {
    scene.seen.push(`api ${req.url} ${req.headers.authorization ?? '-'}`);
    if (scene.apiBody === null) return; // never answers
    res.statusCode = scene.apiStatus;
    res.end(scene.apiBody);
  });
  await writeFile(path, configText(`0.0.0.0:${gatewayPort}`, { listenAddress: `0.0.0.0:${apiPort}`, token: api.token ?? TOKEN, enabled: api.enabled ?? true }));
  return scene;
}

t.test('--ready: the gateway, then the status with the API token; ready when the status says so', async (t) => {
  const scene = await readinessScene(t);
  const { code, line } = await scene.run();
  t.equal(code, 0);
  t.match(line, /^ready: policy generation 2, 1\/1 gateway threads alive, reconciler ready \(GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal and GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/corporal\/status answered 200\)$/);
  t.same(scene.seen, ['gateway /_matrix/client/corporal', `api /_matrix/corporal/status Bearer ${TOKEN}`]);
  t.notMatch(line, TOKEN);
});

t.test('--ready: not ready with the status reasons', async (t) => {
  const scene = await readinessScene(t);
  scene.apiBody = JSON.stringify({ ...READY_STATUS, policy: null, reconciler: { state: 'waiting', failedAttempts: 1, lastError: { message: 'cannot reach Synapse' } } });
  t.same(await scene.run(), { code: 1, line: 'not ready: no policy loaded yet; reconciler waiting: cannot reach Synapse (1 failed attempt)' });
});

t.test('--ready: a gateway that is not alive is not ready, and the API is not asked', async (t) => {
  const scene = await readinessScene(t);
  scene.gatewayStatus = 503;
  const { code, line } = await scene.run();
  t.equal(code, 1);
  t.match(line, /^not ready: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal answered 503$/);
  t.same(scene.seen, ['gateway /_matrix/client/corporal']);
});

t.test('--ready: what the HTTP API answers instead of a status', async (t) => {
  const scene = await readinessScene(t);
  scene.apiStatus = 401;
  scene.apiBody = '{"errcode":"M_UNKNOWN_TOKEN","error":"Bad access token"}';
  t.match(await scene.run(), { code: 1, line: /^not ready: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/corporal\/status answered 401: the running Corporal has another HttpApi\.AuthorizationBearerToken than CORPORAL_CONFIG's config$/ });
  scene.apiStatus = 200;
  scene.apiBody = '<html>proxy error</html>';
  t.match(await scene.run(), { code: 1, line: /^not ready: GET \S+\/_matrix\/corporal\/status answered 200 with a body that is not JSON$/ });
  scene.apiBody = `{"pad":"${'x'.repeat(STATUS_BODY_LIMIT_BYTES)}"}`;
  t.match(await scene.run(), { code: 1, line: /^not ready: GET \S+\/_matrix\/corporal\/status: body exceeds 1048576 bytes$/ });
});

t.test('--ready: both calls share one budget, and a status that never comes is reported', async (t) => {
  const scene = await readinessScene(t);
  scene.apiBody = null;
  const signals: Array<AbortSignal | null | undefined> = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    signals.push(init?.signal);
    return globalThis.fetch(input, init);
  };
  const lines: string[] = [];
  const env = { CORPORAL_CONFIG: scene.configPath };
  t.equal(await runHealthcheck({ env, fetch, out: (line) => lines.push(line), timeoutMs: 300 }, 'readiness'), 1);
  t.match(lines, [/^not ready: GET \S+\/_matrix\/corporal\/status: no answer within 300 ms$/]);
  t.equal(signals.length, 2);
  t.ok(signals[0] instanceof AbortSignal && signals[0] === signals[1], 'the same signal bounds both calls');
});

t.test('--ready cannot tell without the HTTP API, or with an empty token: not ready, nothing asked', async (t) => {
  for (const [api, reason] of [
    [{ enabled: false }, /^not ready: HttpApi\.Enabled is false: readiness is read from GET \/_matrix\/corporal\/status on the HTTP API, so it cannot be told/],
    [{ token: '' }, /^not ready: HttpApi\.AuthorizationBearerToken is empty: the HTTP API refuses every request/],
  ] as const) {
    const scene = await readinessScene(t, api);
    t.match(await scene.run(), { code: 1, line: reason });
    t.same(scene.seen, []);
  }
});

t.test('--ready never prints the token, even when fetch quotes it', async (t) => {
  const token = 'line\nbroken-s3cret';
  const scene = await readinessScene(t, { token });
  const { code, line } = await scene.run();
  t.equal(code, 1);
  t.match(line, /^not ready: GET \S+\/_matrix\/corporal\/status: .*<HttpApi\.AuthorizationBearerToken>/);
  t.notMatch(line, 'broken-s3cret');
});

t.test('liveness does not read the HTTP API settings', async (t) => {
  const scene = await readinessScene(t, { enabled: false });
  const lines: string[] = [];
  t.equal(await runHealthcheck({ env: { CORPORAL_CONFIG: scene.configPath }, fetch: globalThis.fetch, out: (line) => lines.push(line) }), 0);
  t.match(lines, [/^healthy: GET \S+ answered 200$/]);
  t.same(scene.seen, ['gateway /_matrix/client/corporal']);
});
