import t from 'tap';
import { answerError } from '../../../src/gateway/answer-error.js';
import { CorporalError } from '../../../src/common/errors.js';
import type { RequestContext } from '../../../src/gateway/request-context.js';
import type { Logger } from '../../../src/common/logger.js';

/** A context whose exchange records what was done to it. */
function contextWith(responseStarted: boolean): { ctx: RequestContext; done: string[] } {
  const done: string[] = [];
  const exchange = {
    responseStarted,
    forceClose: () => done.push('closed'),
    sendMatrixError: (status: number, errcode: string, _message: string, headers: ReadonlyArray<readonly [string, string]> = []) =>
      done.push([`${status} ${errcode}`, ...headers.map(([name, value]) => `${name}: ${value}`)].join(', ')),
  };
  return { ctx: { exchange, routeId: 'other', method: 'GET' } as unknown as RequestContext, done };
}
const logged: string[] = [];
const logger = { error: (_fields: unknown, message: string) => logged.push(message) } as unknown as Logger;
const upstreamFailure = new CorporalError('CORP_ERR_TEST', 'upstream went away', { source: 'upstream', status: 502 });

t.test('a client, upstream or policy error is answered with its status before the response starts', async (t) => {
  const { ctx, done } = contextWith(false);
  answerError(ctx, upstreamFailure, logger);
  t.same(done, ['502 M_UNKNOWN']);
});

t.test('a retryable 503 tells the client when to try again; other statuses do not', async (t) => {
  const busy = new CorporalError('CORP_ERR_BUSY', 'busy', { source: 'upstream', status: 503, retryable: true });
  const down = new CorporalError('CORP_ERR_DOWN', 'down', { source: 'upstream', status: 503 });
  const timeout = new CorporalError('CORP_ERR_SLOW', 'slow', { source: 'upstream', status: 504, retryable: true });
  const answers = [busy, down, timeout].map((err) => {
    const { ctx, done } = contextWith(false);
    answerError(ctx, err, logger);
    return done[0];
  });
  t.same(answers, ['503 M_UNKNOWN, Retry-After: 1', '503 M_UNKNOWN', '504 M_UNKNOWN']);
});

t.test('once a streamed response has started, any error closes the connection (none leaves it hanging)', async (t) => {
  for (const err of [upstreamFailure, new Error('a bug')]) {
    const { ctx, done } = contextWith(true);
    answerError(ctx, err, logger);
    t.same(done, ['closed'], String(err));
  }
});

t.test('anything else is a bug: answered 500 without details, and logged at most once per interval', async (t) => {
  const { ctx, done } = contextWith(false);
  answerError(ctx, new Error('secret detail'), logger);
  answerError(contextWith(false).ctx, new Error('again'), logger);
  t.same(done, ['500 M_UNKNOWN']);
  t.same(logged, ['request failed'], 'one line for the three bugs of this file (the first was a streamed response\'s)');
});
