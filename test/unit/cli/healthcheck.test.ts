import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  DEFAULT_CONTAINER_CONFIG_PATH, HEALTHCHECK_PATH, probeUrlOf, runHealthcheck,
} from '../../../src/cli/healthcheck.js';
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

/** A config file as matrix-corporal's docs spell it, with the listen address under differently cased keys. */
function configText(listenAddress: string): string {
  return JSON.stringify({
    matrix: { homeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://127.0.0.1:8008', AuthSharedSecret: 's3cret', TimeoutMilliseconds: 1000 },
    Corporal: { UserId: '@corporal:example.com' },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HTTPGATEWAY: { listenaddress: listenAddress, TimeoutMilliseconds: 2000 },
    HttpApi: { TimeoutMilliseconds: 3000 },
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
