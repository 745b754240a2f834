import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { createSilentLogger } from '../../../src/common/logger.js';
import { hasErrorCode } from '../../../src/common/errors.js';
import { loadUws } from '../../../src/gateway/uws.js';
import { listenOnLoopback } from '../../support/uws-listen.js';
import { ClientExchange, type ExchangeListener } from '../../../src/gateway/respond.js';
import { HeaderCollector, RequestContext } from '../../../src/gateway/request-context.js';
import { BODY_TOO_LARGE, CLIENT_ABORTED, readBody } from '../../../src/gateway/body.js';
import { answerError } from '../../../src/gateway/answer-error.js';

/**
 * The bounded body reader on a real uWS app (uWS is what neuters chunks and drops connections
 * whose data has no reader, so a fake would prove little). Each request is read with a 64 KiB
 * limit and answered with the size and sha256 of what was read, or with the reader's error.
 */

const LIMIT = 64 * 1024;
const logger = createSilentLogger();
const { uws } = loadUws(false);
const outcomes: string[] = [];
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();

const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const exchange = new ClientExchange(res, owner);
  const ctx = new RequestContext(exchange, req, null, collector, null);
  const delay = Number(ctx.header('x-attach-after-ms') ?? '0');
  const read = (): void => {
    if (ctx.body === null) {
      exchange.sendText(200, 'no body');
      return;
    }
    readBody(ctx.body, LIMIT).then(
      (body) => {
        outcomes.push(`read ${body.length}`);
        exchange.sendText(200, `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
      },
      (err: unknown) => {
        outcomes.push(hasErrorCode(err, CLIENT_ABORTED) ? 'aborted' : hasErrorCode(err, BODY_TOO_LARGE) ? 'too large' : 'other error');
        answerError(ctx, err, logger);
      },
    );
  };
  if (delay > 0) setTimeout(read, delay);
  else read();
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(close);

/** Sends `head` then `body` chunks on a new connection; resolves with everything received until the server closes or `idleMs` passes. */
function exchange(head: string, body: Buffer[] = [], idleMs = 500): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      for (const chunk of body) socket.write(chunk);
    });
    let text = '';
    let closed = false;
    let timer = setTimeout(() => done(), idleMs);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
  });
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

t.test('a body up to the limit is read whole, from Content-Length or chunked', async (t) => {
  const body = randomBytes(LIMIT);
  const fixed = await exchange(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT}\r\n\r\n`, [body]);
  t.ok(fixed.text.endsWith(`${LIMIT} ${sha(body)}`));
  const chunked = await exchange('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', [
    Buffer.from('8000\r\n'), body.subarray(0, 0x8000), Buffer.from('\r\n8000\r\n'), body.subarray(0x8000), Buffer.from('\r\n0\r\n\r\n'),
  ]);
  t.ok(chunked.text.endsWith(`${LIMIT} ${sha(body)}`), 'a chunked body grows up to the limit');
});

t.test('a body that arrives before the reader attaches (queued, reading paused past 64 KiB) is read complete', async (t) => {
  const small = randomBytes(1000);
  const queued = await exchange(`POST / HTTP/1.1\r\nHost: x\r\nX-Attach-After-Ms: 100\r\nContent-Length: 1000\r\n\r\n`, [small]);
  t.ok(queued.text.endsWith(`1000 ${sha(small)}`));
  const big = randomBytes(LIMIT);
  const paused = await exchange(`POST / HTTP/1.1\r\nHost: x\r\nX-Attach-After-Ms: 200\r\nContent-Length: ${LIMIT}\r\n\r\n`, [big]);
  t.ok(paused.text.endsWith(`${LIMIT} ${sha(big)}`));
});

t.test('an announced length over the limit is refused at once with 413, and the connection closed', async (t) => {
  const { text, closed } = await exchange(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`, [], 2000);
  t.match(text, /^HTTP\/1.1 413 /);
  t.ok(text.endsWith(`{"errcode":"M_TOO_LARGE","error":"Request body exceeds ${LIMIT} bytes"}`));
  t.ok(closed, 'no waiting for (or draining) the body');
});

t.test('a chunked body crossing the limit is refused with 413', async (t) => {
  const { text, closed } = await exchange('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', [
    Buffer.from('10001\r\n'), Buffer.alloc(LIMIT + 1), Buffer.from('\r\n'),
  ], 2000);
  t.match(text, /^HTTP\/1.1 413 /);
  t.ok(closed);
});

t.test('a client leaving mid-body rejects the read, once', async (t) => {
  outcomes.length = 0;
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT}\r\n\r\n`);
      socket.write(Buffer.alloc(1000));
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 50);
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(outcomes, ['aborted']);
});

t.test('no body: nothing to read', async (t) => {
  const { text } = await exchange('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.ok(text.endsWith('no body'));
  const empty = await exchange('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  t.ok(empty.text.endsWith('no body'));
});
