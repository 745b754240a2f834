import t from 'tap';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../../../src/common/log-throttle.js';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { request } from 'undici';
import { parseConfigObject } from '../../../src/common/config/index.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { answerError } from '../../../src/gateway/answer-error.js';
import { readBody } from '../../../src/gateway/body.js';
import { HeaderCollector, RequestContext } from '../../../src/gateway/request-context.js';
import { ClientExchange, type ExchangeListener } from '../../../src/gateway/respond.js';
import { TrustedProxies } from '../../../src/gateway/upstream/forwarded-for.js';
import { UpstreamPools } from '../../../src/gateway/upstream/pools.js';
import { ProxyExchange, sendBufferedResponse, type ProxySettings } from '../../../src/gateway/upstream/proxy-exchange.js';
import { loadUws } from '../../../src/gateway/uws.js';
import { listenOnLoopback } from '../../support/uws-listen.js';
import { startHttpUpstream, trickle } from './fixtures/http-upstream.js';

/**
 * The two buffering APIs later phases build on, exercised as those phases will: a handler on a
 * real uWS app reads the request body (`readBody`) and sends a changed one upstream
 * (`ctx.bufferedBody`), or asks for the upstream response (`ctx.responseBuffer`) and answers with
 * a changed one (`sendBufferedResponse`). The upstream is a real node:http server that echoes.
 */

const upstream = await startHttpUpstream((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/big') {
      res.end('x'.repeat(5000));
      return;
    }
    if (req.url === '/trickle') {
      // Headers at once, then a blank every 50 ms for 3 s, then `{}`: never silent long enough for
      // an idle timeout, and long past the short settings' exchange cap.
      res.setHeader('Content-Type', 'application/json');
      trickle(res, 60, 50, () => ' ', '{}');
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Upstream', 'yes');
    res.end(JSON.stringify({ body, contentLength: req.headers['content-length'] ?? null }));
  });
});
t.teardown(() => upstream.close());

const logger = createSilentLogger();
const parsed = parseConfigObject({
  Matrix: { HomeserverDomainName: 'localhost', HomeserverApiEndpoint: upstream.url, AuthSharedSecret: 's', TimeoutMilliseconds: 5000 },
  Corporal: { UserID: '@corporal:localhost' },
  Reconciliation: { RetryIntervalMilliseconds: 1000 },
  HttpGateway: { TimeoutMilliseconds: 10_000 },
  HttpApi: { TimeoutMilliseconds: 1000 },
  PolicyProvider: { Type: 'last_seen_store_policy', CachePath: '/nonexistent' },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const pools = new UpstreamPools(parsed.config);
t.teardown(() => pools.close());
const settings: ProxySettings = {
  pools,
  timeouts: { upstreamMs: 5000, exchangeMs: 10_000 },
  trustedProxies: new TrustedProxies(null),
  observer: { upstreamResponded: () => {} },
  logger,
  failureLog: new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS),
  answerError: (ctx, err) => answerError(ctx, err, logger),
  hooksChangedFor: () => false,
};

/** Exchange cap 600 ms, idle limit 300 ms: what the trickling upstream outlasts. */
const shortSettings: ProxySettings = { ...settings, timeouts: { upstreamMs: 300, exchangeMs: 600 } };

const { uws } = loadUws(false);
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = new RequestContext(new ClientExchange(res, owner), req, null, collector, null);
  const mode = ctx.header('x-mode');
  const proxy = (): void => {
    ctx.proxy = new ProxyExchange(ctx, ctx.header('x-timeouts') === 'short' ? shortSettings : settings);
    ctx.proxy.start();
  };
  if (mode === 'rewrite-request' && ctx.body !== null) {
    readBody(ctx.body, 1024).then((body) => {
      ctx.bufferedBody = Buffer.from(body.toString('utf8').toUpperCase());
      proxy();
    }, (err: unknown) => answerError(ctx, err, logger));
  } else if (mode === 'rewrite-response') {
    ctx.responseBuffer = {
      limitBytes: 1000,
      onResponse: (ctx, result) => {
        if (!result.ok) {
          answerError(ctx, result.error, logger);
          return;
        }
        const body = JSON.parse(result.response.body.toString('utf8')) as Record<string, unknown>;
        sendBufferedResponse(ctx, { ...result.response, body: Buffer.from(JSON.stringify({ ...body, rewritten: true })) });
      },
    };
    proxy();
  } else {
    proxy();
  }
});
const listening = await listenOnLoopback(uws, app);
const base = `http://127.0.0.1:${listening.port}`;
t.teardown(listening.close);

t.test('a phase can read the body and send a different one upstream', async (t) => {
  const response = await request(`${base}/echo`, { method: 'POST', body: 'hello world', headers: { 'x-mode': 'rewrite-request' } });
  t.same(await response.body.json(), { body: 'HELLO WORLD', contentLength: '11' }, 'the buffered body, with its own Content-Length');
});

t.test('a streamed body passes unchanged', async (t) => {
  const response = await request(`${base}/echo`, { method: 'POST', body: 'hello world' });
  t.same(await response.body.json(), { body: 'hello world', contentLength: '11' });
});

t.test('a phase can take the upstream response before anything is written, and answer with another', async (t) => {
  const response = await request(`${base}/echo`, { headers: { 'x-mode': 'rewrite-response' } });
  const text = await response.body.text();
  t.same(JSON.parse(text), { body: '', contentLength: null, rewritten: true });
  t.equal(response.headers['x-upstream'], 'yes', 'upstream headers are kept');
  t.equal(response.headers['content-length'], String(Buffer.byteLength(text)), 'the length is the new body’s');
});

t.test('a response over the buffer limit is refused with 502', async (t) => {
  const response = await request(`${base}/big`, { headers: { 'x-mode': 'rewrite-response' } });
  t.equal(response.statusCode, 502);
  t.same(await response.body.json(), { errcode: 'M_UNKNOWN', error: "The homeserver's response exceeds 1000 bytes" });
});

t.test('a response being buffered must be complete within the exchange cap, even while bytes keep coming', async (t) => {
  // Nothing of a buffered response reaches the client, so its progress buys no time past the cap
  // (a streamed one's does): a homeserver trickling its answer would otherwise hold the client, and
  // the buffer, for as long as it likes (review audit 14).
  const response = await request(`${base}/trickle`, { headers: { 'x-mode': 'rewrite-response', 'x-timeouts': 'short' } });
  t.equal(response.statusCode, 504);
  t.same(await response.body.json(), { errcode: 'M_UNKNOWN', error: 'The homeserver did not answer in time' });
});
