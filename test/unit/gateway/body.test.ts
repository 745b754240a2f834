import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { createSilentLogger } from '../../../src/common/logger.js';
import { hasErrorCode } from '../../../src/common/errors.js';
import { loadUws } from '../../../src/gateway/uws.js';
import { listenOnLoopback } from '../../support/uws-listen.js';
import { ClientExchange, type ExchangeListener } from '../../../src/gateway/respond.js';
import { HeaderCollector, RequestContext, type RequestLimits } from '../../../src/gateway/request-context.js';
import { BODY_TIMEOUT, BODY_TOO_LARGE, CLIENT_ABORTED, readBody } from '../../../src/gateway/body.js';
import { answerError } from '../../../src/gateway/answer-error.js';
import { BufferBudget } from '../../../src/common/buffer-budget.js';
import { GATEWAY_BUSY } from '../../../src/gateway/buffer-refusal.js';

/**
 * The bounded body reader on a real uWS app (uWS is what neuters chunks and drops connections
 * whose data has no reader, so a fake would prove little). Each request is read with a 64 KiB
 * limit and answered with the size and sha256 of what was read, or with the reader's error.
 * Requests to `/budget` draw their buffers from {@link budget}, a thread budget of 100 KiB.
 */

const LIMIT = 64 * 1024;
const logger = createSilentLogger();
const { uws } = loadUws(false);
const outcomes: string[] = [];
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();
const budget = new BufferBudget(100 * 1024);
/** `/budget` draws from {@link budget}; `/deadline` must have its body within 300 ms. */
const LIMITS: Record<string, RequestLimits> = {
  '/budget': { budget, exchangeMs: 60_000 },
  '/deadline': { budget: new BufferBudget(LIMIT), exchangeMs: 300 },
};

const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const exchange = new ClientExchange(res, owner);
  const ctx = new RequestContext(exchange, req, null, collector, null, LIMITS[req.getUrl()] ?? null);
  const delay = Number(ctx.header('x-attach-after-ms') ?? '0');
  const read = (): void => {
    if (ctx.body === null) {
      exchange.sendText(200, 'no body');
      return;
    }
    readBody(ctx.body, LIMIT, ctx).then(
      (body) => {
        outcomes.push(`read ${body.length}`);
        exchange.sendText(200, `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
      },
      (err: unknown) => {
        outcomes.push(hasErrorCode(err, CLIENT_ABORTED) ? 'aborted' : hasErrorCode(err, BODY_TOO_LARGE) ? 'too large' : hasErrorCode(err, GATEWAY_BUSY) ? 'busy' : hasErrorCode(err, BODY_TIMEOUT) ? 'timeout' : 'other error');
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

t.test("the thread's buffer budget: bodies held at once are bounded together, refusals are 503", async (t) => {
  outcomes.length = 0;
  // A first body of 60 KiB is held: the client sends all but its last 1000 bytes …
  const held = connect(port, '127.0.0.1');
  await new Promise((resolve) => held.once('connect', resolve));
  held.write(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${60 * 1024}\r\n\r\n`);
  held.write(Buffer.alloc(60 * 1024 - 1000));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(budget.inUse, 60 * 1024, 'grown (16 → 32 → 60 KiB) and reserved as its bytes arrived');

  // … so a second one of 50 KiB does not fit in 100 KiB: 503 when it outgrows the rest.
  const refused = await exchange(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${50 * 1024}\r\n\r\n`, [randomBytes(50 * 1024)], 2000);
  t.match(refused.text, /^HTTP\/1.1 503 /);
  t.ok(refused.text.endsWith('{"errcode":"M_UNKNOWN","error":"The gateway is inspecting too many large bodies at once; try again shortly"}'));

  // A chunked body grows by doubling from 16 KiB: it is refused when a growth does not fit.
  const chunk = randomBytes(40 * 1024);
  const grown = await exchange('POST /budget HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', [
    Buffer.from('a000\r\n'), chunk, Buffer.from('\r\n0\r\n\r\n'),
  ], 2000);
  t.match(grown.text, /^HTTP\/1.1 503 /, '16 KiB fit beside the 60 KiB held; growing to 64 KiB (48 KiB more) did not');
  t.equal(budget.inUse, 60 * 1024, 'the refused requests hold nothing');

  // A body outside the budget is unaffected, and once the first exchange ends its bytes come back.
  const body = randomBytes(50 * 1024);
  t.ok((await exchange(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, [body])).text.endsWith(`${body.length} ${sha(body)}`));
  const answered = new Promise<string>((resolve) => {
    let text = '';
    held.on('data', (data) => {
      text += data.toString('latin1');
      if (text.includes(' ')) resolve(text);
    });
  });
  held.write(Buffer.alloc(1000));
  t.match(await answered, /^HTTP\/1.1 200 /);
  held.destroy();
  t.equal(budget.inUse, 0, 'given back when the exchange ended');
  const after = await exchange(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, [body]);
  t.ok(after.text.endsWith(`${body.length} ${sha(body)}`), 'the budget serves again');
  t.equal(budget.inUse, 0);
  t.same(outcomes, ['busy', 'busy', `read ${body.length}`, `read ${60 * 1024}`, `read ${body.length}`]);
});

t.test('an announced length alone reserves at most 16 KiB: idle announcers cannot spend the budget', async (t) => {
  const announcers: Socket[] = [];
  for (let i = 0; i < 5; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT}\r\n\r\n{`);
    announcers.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(budget.inUse, 5 * 16 * 1024, 'five 64 KiB announcements hold 80 KiB, not 320 KiB');
  const body = randomBytes(10 * 1024);
  const served = await exchange(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, [body]);
  t.ok(served.text.endsWith(`${body.length} ${sha(body)}`), 'a real body still fits beside them');
  for (const socket of announcers) socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(budget.inUse, 0);
});

t.test('a client leaving mid-body gives its reservation back', async (t) => {
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /budget HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT}\r\n\r\n`);
      socket.write(Buffer.alloc(1000));
      setTimeout(() => {
        t.equal(budget.inUse, 16 * 1024, 'the first allocation only: 1000 of 64 KiB arrived');
        socket.destroy();
        resolve();
      }, 50);
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(budget.inUse, 0);
});

t.test('a body read for inspection must arrive within the exchange cap of the start of its reading', async (t) => {
  outcomes.length = 0;
  const body = randomBytes(1000);
  const inTime = await exchange('POST /deadline HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n', [body]);
  t.ok(inTime.text.endsWith(`1000 ${sha(body)}`));
  // A client trickling its body: 10 bytes now, the rest never. Waiting 5 s for the answer stays
  // below uWS' own idle timeout (10 s), so only the deadline can close this connection.
  const slow = await exchange('POST /deadline HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n', [Buffer.alloc(10)], 5000);
  t.match(slow.text, /^HTTP\/1.1 408 /);
  t.ok(slow.text.endsWith('{"errcode":"M_UNKNOWN","error":"The request body did not arrive in time"}'));
  t.ok(slow.closed, 'the connection is closed (the body is still pending)');
  t.same(outcomes, ['read 1000', 'timeout']);
});
