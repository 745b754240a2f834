import t from 'tap';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../../../src/common/log-throttle.js';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { request } from 'undici';
import { parseConfigObject } from '../../../src/common/config/index.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { answerError } from '../../../src/gateway/answer-error.js';
import { readBody } from '../../../src/gateway/body.js';
import { HeaderCollector, RequestContext, type RequestFinishedListener } from '../../../src/gateway/request-context.js';
import { RequestMetrics } from '../../../src/gateway/metrics/request-metrics.js';
import { createRequestMetricsTable, summariseRequestMetrics, threadRegion } from '../../../src/gateway/metrics/request-metrics-layout.js';
import { ResponseState } from '../../../src/gateway/hooks/response-state.js';
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
 * Each finished request is counted as the thread's request metrics count it, to check who they
 * say answered.
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
    if (req.url === '/cut') {
      // The head, then the connection dropped before any body byte: the stream cannot complete.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 50);
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

/** How the request metrics counted the last finished request: `source/code`, then ` aborted` for a client abort or ` cut` for the gateway's; '' until one finished. */
let counted = '';
const finished: RequestFinishedListener = {
  requestFinished(ctx) {
    const table = createRequestMetricsTable(1);
    new RequestMetrics(threadRegion(table, 1)).requestFinished(ctx);
    const summary = summariseRequestMetrics(table, 1);
    counted = `${summary.requests[0]?.source}/${summary.requests[0]?.code}${summary.abortedRequests > 0 ? ' aborted' : ''}${summary.cutRequests > 0 ? ' cut' : ''}`;
  },
};

/** What the metrics counted for the request `send` makes (it may finish after the client saw the end). */
async function countedFor(send: () => Promise<unknown>): Promise<string> {
  counted = '';
  await send();
  for (let tries = 0; counted === '' && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  return counted;
}

const { uws } = loadUws(false);
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = new RequestContext(new ClientExchange(res, owner), req, null, collector, finished);
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
  } else if (mode === 'replace-response') {
    // As an after-hook's `reject` does: the gateway's answer in place of the homeserver's.
    ctx.responseBuffer = {
      limitBytes: 1000,
      onResponse: (ctx, result) => {
        if (!result.ok) return;
        const response = new ResponseState(result.response);
        response.answer(403, 'application/json', '{"errcode":"M_FORBIDDEN","error":"replaced"}');
        sendBufferedResponse(ctx, response.result());
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
  let text = '';
  const source = await countedFor(async () => {
    const response = await request(`${base}/echo`, { headers: { 'x-mode': 'rewrite-response' } });
    text = await response.body.text();
    t.equal(response.headers['x-upstream'], 'yes', 'upstream headers are kept');
    t.equal(response.headers['content-length'], String(Buffer.byteLength(text)), 'the length is the new body’s');
  });
  t.same(JSON.parse(text), { body: '', contentLength: null, rewritten: true });
  t.equal(source, 'homeserver/2xx', 'a changed body is still the homeserver\'s answer');
});

t.test('an answer put in place of the homeserver\'s counts as the gateway\'s', async (t) => {
  const source = await countedFor(async () => {
    const response = await request(`${base}/echo`, { headers: { 'x-mode': 'replace-response' } });
    t.equal(response.statusCode, 403);
    await response.body.dump();
  });
  t.equal(source, 'corporal/4xx', 'Synapse\'s 200 arrived, but the client got the gateway\'s 403');
});

t.test('a streamed response that fails before its head went out: no status, and not a client abort', async (t) => {
  const source = await countedFor(() => request(`${base}/cut`).then((response) => response.body.text()).then(
    () => t.fail('the response cannot complete'),
    (err: unknown) => t.ok(err, 'the connection is closed'),
  ));
  t.equal(source, 'corporal/none cut', 'nothing was sent, and the gateway cut the connection: counted as a cut, not an abort');
});

t.test('a response over the buffer limit is refused with 502', async (t) => {
  const source = await countedFor(async () => {
    const response = await request(`${base}/big`, { headers: { 'x-mode': 'rewrite-response' } });
    t.equal(response.statusCode, 502);
    t.same(await response.body.json(), { errcode: 'M_UNKNOWN', error: "The homeserver's response exceeds 1000 bytes" });
  });
  t.equal(source, 'corporal/5xx', 'the gateway\'s 502, though Synapse\'s head had arrived');
});

t.test('a response being buffered must be complete within the exchange cap, even while bytes keep coming', async (t) => {
  // Nothing of a buffered response reaches the client, so its progress buys no time past the cap
  // (a streamed one's does): a homeserver trickling its answer would otherwise hold the client, and
  // the buffer, for as long as it likes (review audit 14).
  const source = await countedFor(async () => {
    const response = await request(`${base}/trickle`, { headers: { 'x-mode': 'rewrite-response', 'x-timeouts': 'short' } });
    t.equal(response.statusCode, 504);
    t.same(await response.body.json(), { errcode: 'M_UNKNOWN', error: 'The homeserver did not answer in time' });
  });
  t.equal(source, 'corporal/5xx', 'the gateway\'s 504');
});
