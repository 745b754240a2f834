import t from 'tap';
import { Pool } from 'undici';
import pino from 'pino';
import { CreationWatch, HalfCreatedRoomGuard } from '../../../../src/gateway/checks/half-created-rooms.js';

/** A guard that records the repair passes it is asked for instead of calling the homeserver. */
class RecordingGuard extends HalfCreatedRoomGuard {
  readonly passes: Array<readonly number[]> = [];
  override async repairAfter(delaysMs: readonly number[]): Promise<void> {
    this.passes.push(delaysMs);
  }
}

const pool = new Pool('http://127.0.0.1:9');
t.teardown(() => pool.destroy());
const guard = () => new RecordingGuard({
  lookup: { dispatcher: pool, basePath: '', timeoutMs: 45_000 },
  corporalUserId: '@corporal:hs',
  logger: pino({ level: 'silent' }),
});
const watchOf = (g: HalfCreatedRoomGuard) => new CreationWatch(g, 'token', '@bob:hs', new Set(['!old:hs']), Date.now());

t.test('a createRoom the homeserver accepted needs no repair', async (t) => {
  for (const status of [200, 201, 299]) {
    const g = guard();
    watchOf(g).exchangeSettled(status);
    t.same(g.passes, [], `HTTP ${status}`);
  }
});

t.test('a refused one is looked at once, at once', async (t) => {
  for (const status of [400, 403, 429, 500, 502, 504, 302]) {
    const g = guard();
    watchOf(g).exchangeSettled(status);
    t.same(g.passes, [[0]], `HTTP ${status}`);
  }
});

t.test('one without an answer (client gone, timeout) once more when the homeserver must be done', async (t) => {
  const g = guard();
  const watch = watchOf(g);
  watch.exchangeSettled(0);
  watch.exchangeSettled(0);
  t.same(g.passes, [[0, 45_000]], 'and only once per request');
});
