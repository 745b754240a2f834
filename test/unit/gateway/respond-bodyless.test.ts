import t from 'tap';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { isBodyless, mayAnnounceLength } from '../../../src/gateway/bodyless.js';
import { loadUws } from '../../../src/gateway/uws.js';
import { ClientExchange, type ExchangeListener } from '../../../src/gateway/respond.js';
import { HeaderCollector, RequestContext } from '../../../src/gateway/request-context.js';
import { inTurn, rawRequest, wireResponses, type WireResponse } from '../../support/raw-http.js';
import { listenOnLoopback } from '../../support/uws-listen.js';

/**
 * Local answers whose status has no body (204, 304; HEAD requests) on a real uWS app, read off the
 * wire: no body bytes and no `Content-Length` on 204, so the next response on a keep-alive
 * connection is read where it starts (a stray body would show up before its status line). `/send/<status>` answers with `ClientExchange.send` (how
 * hooks, errors and other local answers go out), `/without/<status>` with `sendWithoutBody`.
 */

const BODY = '{"hello":"world"}';
const { uws } = loadUws(false);
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();

const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const exchange = new ClientExchange(res, owner);
  const ctx = new RequestContext(exchange, req, null, collector, null);
  const [, how, status] = ctx.rawPath.split('/');
  if (how === 'without') exchange.sendWithoutBody(Number(status), ['Content-Type', 'application/json'], String(BODY.length), true);
  else exchange.send(Number(status), [['Content-Type', 'application/json']], BODY);
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(close);
/** The responses to `requests`, sent in turn on one connection. */
const answersTo = async (...requests: string[]): Promise<WireResponse[]> => wireResponses(await inTurn(port, requests));

const NEXT_OK = { head: /^HTTP\/1\.1 200 OK\r\n/, body: BODY };

t.test('send: 204 goes out without a body and without Content-Length; the next response follows intact', async (t) => {
  const [first, second, ...rest] = await answersTo(rawRequest('GET', '/send/204'), rawRequest('GET', '/send/200'));
  t.match(first!.head, /^HTTP\/1\.1 204 No Content\r\n/);
  t.notMatch(first!.head, /content-length/i);
  t.equal(first!.body, '');
  t.match(second, NEXT_OK);
  t.same(rest, []);
});

t.test('send: 304 goes out without a body, announcing the length the body would have had', async (t) => {
  const [first, second] = await answersTo(rawRequest('GET', '/send/304'), rawRequest('GET', '/send/200'));
  t.match(first!.head, /^HTTP\/1\.1 304 Not Modified\r\n/);
  t.match(first!.head, new RegExp(`Content-Length: ${BODY.length}\r\n`, 'i'));
  t.equal(first!.body, '');
  t.match(second, NEXT_OK);
});

t.test('send: HEAD is unchanged (length, no body), and HEAD with 204 announces no length', async (t) => {
  const [head200, head204, next] = await answersTo(rawRequest('HEAD', '/send/200'), rawRequest('HEAD', '/send/204'), rawRequest('GET', '/send/200'));
  t.match(head200!.head, new RegExp(`^HTTP/1\\.1 200 OK\r\n[^]*Content-Length: ${BODY.length}\r\n`, 'i'));
  t.equal(head200!.body, '');
  t.notMatch(head204!.head, /content-length/i);
  t.equal(head204!.body, '');
  t.match(next, NEXT_OK);
});

t.test('send: a bodyless answer while the request body is still arriving asks the client to close instead', async (t) => {
  const [first, ...rest] = await answersTo(`${rawRequest('POST', '/send/204', 'Content-Length: 100')}0123456789`);
  t.match(first!.head, /^HTTP\/1\.1 204 No Content\r\n/);
  t.match(first!.head, /Connection: close\r\n/i);
  t.notMatch(first!.head, /content-length/i, 'not even the Content-Length: 0 uWS would add to close it itself');
  t.equal(first!.body, '');
  t.same(rest, []);
});

t.test('sendWithoutBody: no Content-Length on 204 even when one is given', async (t) => {
  const [first, second] = await answersTo(rawRequest('GET', '/without/204'), rawRequest('GET', '/send/200'));
  t.match(first!.head, /^HTTP\/1\.1 204 No Content\r\n/);
  t.notMatch(first!.head, /content-length/i);
  t.equal(first!.body, '');
  t.match(second, NEXT_OK);
});

t.test('isBodyless and mayAnnounceLength: the status rules (RFC 9112 §6.3, RFC 9110 §8.6)', async (t) => {
  t.same([100, 101, 199, 200, 204, 299, 304, 404, 500].map((status) => isBodyless(false, status)), [true, true, true, false, true, false, true, false, false]);
  t.equal(isBodyless(true, 200), true, 'HEAD');
  t.same([100, 199, 200, 204, 304, 404].map(mayAnnounceLength), [false, false, true, false, true, true]);
});
