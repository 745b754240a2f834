import t, { type Test } from 'tap';
import { MockAgent, type Dispatcher } from 'undici';
import { CreationWatch, HalfCreatedRoomGuard } from '../../../../src/gateway/checks/half-created-rooms.js';
import { REPAIR_ENCRYPTION_CONTENT, RoomRepairQueue, type RepairCalls, type RepairJob } from '../../../../src/common/half-created-room-repair.js';
import { UserTokenRepairCalls, type GatewayRepairJob } from '../../../../src/gateway/checks/half-created-room-repair.js';
import { CheckReadLimit } from '../../../../src/gateway/checks/upstream-json.js';
import { captureLogger } from '../../../support/control-plane.js';

// The repair's waits use unref'd timers (they must not hold a stopping thread open); this keeps
// the test process alive while they run.
const keepAlive = setInterval(() => undefined, 1_000);
t.teardown(() => clearInterval(keepAlive));

const ORIGIN = 'http://hs.test';
const BOB = '@bob:hs';
const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}/state`;

/** An undici mock of the homeserver's client API (no network), and the calls made to it. */
function mockHomeserver(t: Test) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  t.teardown(() => agent.close());
  const pool = agent.get(ORIGIN);
  const puts: Array<{ path: string; body: unknown }> = [];
  return {
    agent,
    pool,
    puts,
    lookup: { dispatcher: pool as unknown as Dispatcher, basePath: '', timeoutMs: 5_000 },
    joined: (rooms: string[], query = '') => pool.intercept({ path: `/_matrix/client/v3/joined_rooms${query}`, method: 'GET' }).reply(200, { joined_rooms: rooms }),
    create: (id: string, sender: string, ts: number) =>
      pool.intercept({ path: `${room(id)}/m.room.create?format=event`, method: 'GET' }).reply(200, { type: 'm.room.create', sender, origin_server_ts: ts, content: {} }),
    encryption: (id: string, content: object | null) => content === null
      ? pool.intercept({ path: `${room(id)}/m.room.encryption`, method: 'GET' }).reply(404, { errcode: 'M_NOT_FOUND', error: 'Event not found.' })
      : pool.intercept({ path: `${room(id)}/m.room.encryption`, method: 'GET' }).reply(200, content),
    put: (id: string, status: number, answer: object) =>
      pool.intercept({ path: `${room(id)}/m.room.encryption`, method: 'PUT' }).reply(status, (options) => {
        puts.push({ path: String(options.path), body: JSON.parse(String(options.body)) });
        return answer;
      }),
  };
}

t.test('the watch: nothing after a 2xx; one look after a refusal; two without an answer; once per request', async (t) => {
  const runs: Array<readonly number[]> = [];
  for (const status of [200, 201, 299]) new CreationWatch(45_000, (passes) => runs.push(passes)).exchangeSettled(status);
  t.same(runs, [], 'created whole');
  for (const status of [302, 400, 403, 429, 500, 502, 504]) new CreationWatch(45_000, (passes) => runs.push(passes)).exchangeSettled(status);
  t.same(runs, Array(7).fill([0]), 'refused: once, at once');
  runs.length = 0;
  const watch = new CreationWatch(45_000, (passes) => runs.push(passes));
  watch.exchangeSettled(0);
  watch.exchangeSettled(0);
  t.same(runs, [[0, 45_000]], 'no answer: at once and once Synapse must be done; only once');
});

t.test('a failed creation: only the fresh, unencrypted room this user created is encrypted; one unreadable room stops nothing', async (t) => {
  const hs = mockHomeserver(t);
  const { logger, lines } = captureLogger();
  const guard = new HalfCreatedRoomGuard({ lookup: hs.lookup, corporalUserId: '@corporal:hs', logger });
  hs.joined(['!old:hs']);
  const watch = await guard.watch({ accessToken: 'secret-token', masqueradeAs: null }, BOB);
  t.ok(watch);
  const now = Date.now();
  hs.joined(['!old:hs', '!bad:hs', '!other:hs', '!stale:hs', '!enc:hs', '!half:hs']);
  hs.pool.intercept({ path: `${room('!bad:hs')}/m.room.create?format=event`, method: 'GET' }).reply(504, { errcode: 'M_UNKNOWN' });
  hs.create('!other:hs', '@eve:hs', now);
  hs.create('!stale:hs', BOB, now - 3_600_000);
  hs.create('!enc:hs', BOB, now);
  hs.encryption('!enc:hs', { algorithm: 'm.megolm.v1.aes-sha2' });
  hs.create('!half:hs', BOB, now);
  hs.encryption('!half:hs', null);
  hs.put('!half:hs', 429, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 5 });
  hs.put('!half:hs', 200, { event_id: '$e' });
  watch!.exchangeSettled(403);
  await guard.whenIdle();

  t.same(hs.puts, [
    { path: `${room('!half:hs')}/m.room.encryption`, body: REPAIR_ENCRYPTION_CONTENT },
    { path: `${room('!half:hs')}/m.room.encryption`, body: REPAIR_ENCRYPTION_CONTENT },
  ], 'sent to the half-created room only, again after a 429');
  t.ok(lines.some((l) => l.level === 40 && l['roomId'] === '!half:hs' && /now encrypted/.test(String(l.msg))), 'the repair is logged');
  t.same(lines.filter((l) => l.level === 50).map((l) => l['roomId']), ['!bad:hs'], 'the unreadable room, and only it, is named at error level');
  t.notOk(lines.some((l) => JSON.stringify(l).includes('secret-token')), 'the token is never logged');
  t.same(hs.agent.pendingInterceptors(), [], 'every expected call was made');
});

t.test('a room that cannot be encrypted is reported for the operator', async (t) => {
  const hs = mockHomeserver(t);
  const { logger, lines } = captureLogger();
  const guard = new HalfCreatedRoomGuard({ lookup: hs.lookup, corporalUserId: '@corporal:hs', logger });
  hs.joined([]);
  const watch = await guard.watch({ accessToken: 't', masqueradeAs: null }, BOB);
  hs.joined(['!raced:hs']);
  hs.create('!raced:hs', BOB, Date.now());
  hs.encryption('!raced:hs', null);
  hs.put('!raced:hs', 403, { errcode: 'M_FORBIDDEN', error: 'user_level (100) < send_level (101)' });
  watch!.exchangeSettled(400);
  await guard.whenIdle();
  t.ok(lines.some((l) => l.level === 50 && l['roomId'] === '!raced:hs' && l['errcode'] === 'M_FORBIDDEN' && /DELETE \/_synapse\/admin\/v2\/rooms/.test(String(l.msg))));
});

t.test('an appservice token acts as the masqueraded user in every call', async (t) => {
  const hs = mockHomeserver(t);
  const { logger } = captureLogger();
  const guard = new HalfCreatedRoomGuard({ lookup: hs.lookup, corporalUserId: '@corporal:hs', logger });
  const as = `?user_id=${encodeURIComponent(BOB)}`;
  hs.joined([], as);
  const watch = await guard.watch({ accessToken: 'as-token', masqueradeAs: BOB }, BOB);
  hs.joined(['!half:hs'], as);
  hs.pool.intercept({ path: `${room('!half:hs')}/m.room.create?format=event&user_id=${encodeURIComponent(BOB)}`, method: 'GET' })
    .reply(200, { sender: BOB, origin_server_ts: Date.now() });
  hs.pool.intercept({ path: `${room('!half:hs')}/m.room.encryption${as}`, method: 'GET' }).reply(404, { errcode: 'M_NOT_FOUND' });
  hs.pool.intercept({ path: `${room('!half:hs')}/m.room.encryption${as}`, method: 'PUT' }).reply(200, { event_id: '$e' });
  watch!.exchangeSettled(403);
  await guard.whenIdle();
  t.same(hs.agent.pendingInterceptors(), []);
});

t.test('a token Synapse does not know: no watch (it refuses the creation itself); other failures reject', async (t) => {
  const hs = mockHomeserver(t);
  const { logger } = captureLogger();
  const guard = new HalfCreatedRoomGuard({ lookup: { ...hs.lookup, limit: new CheckReadLimit(16) }, corporalUserId: '@corporal:hs', logger });
  hs.pool.intercept({ path: '/_matrix/client/v3/joined_rooms', method: 'GET' }).reply(401, { errcode: 'M_UNKNOWN_TOKEN' });
  t.equal(await guard.watch({ accessToken: 'gone', masqueradeAs: null }, BOB), null);
  hs.pool.intercept({ path: '/_matrix/client/v3/joined_rooms', method: 'GET' }).reply(502, {});
  await t.rejects(guard.watch({ accessToken: 't', masqueradeAs: null }, BOB), /HTTP 502/);
});

t.test('more new rooms than a repair looks at are reported', async (t) => {
  const hs = mockHomeserver(t);
  const { logger, lines } = captureLogger();
  const queue = new RoomRepairQueue<GatewayRepairJob>({ calls: new UserTokenRepairCalls(hs.lookup), logger });
  const many = Array.from({ length: 103 }, (_, i) => `!r${i}:hs`);
  hs.joined(many);
  for (const id of many.slice(0, 100)) hs.create(id, '@eve:hs', Date.now());
  queue.add(job({ passDelaysMs: [0] }));
  await queue.whenIdle();
  t.ok(lines.some((l) => l.level === 50 && l['newRooms'] === 103 && JSON.stringify(l['skipped']) === JSON.stringify(many.slice(100))), 'the skipped rooms are named');
  t.same(hs.agent.pendingInterceptors(), [], 'the first 100 were looked at');
});

t.test('the queue runs a bounded number at once and skips, loudly, beyond its bound', async (t) => {
  const { logger, lines } = captureLogger();
  let running = 0;
  let most = 0;
  const release: Array<() => void> = [];
  const calls = {
    joinedRooms: async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
      return new Set<string>();
    },
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 2, maxQueued: 3 });
  for (let i = 0; i < 6; i++) queue.add(job({ userId: `@u${i}:hs` }));
  t.ok(lines.some((l) => l.level === 50 && l['userId'] === '@u5:hs'), 'the sixth is skipped and named');
  let idle = false;
  void queue.whenIdle().then(() => { idle = true; });
  for (let turn = 0; turn < 100 && !idle; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const resolve of release.splice(0)) resolve();
  }
  t.ok(idle, 'the five queued repairs all ran');
  t.equal(most, 2, 'never more than two at once');
});

function job(fields: Partial<GatewayRepairJob>): GatewayRepairJob {
  return { accessToken: 't', userId: BOB, masqueradeAs: null, roomsBefore: new Set(), startedAt: Date.now(), passDelaysMs: [0], ...fields };
}

t.test('a token logged out before the repair: the job goes to the control process, without the token', async (t) => {
  const hs = mockHomeserver(t);
  const { logger } = captureLogger();
  const handedOff: RepairJob[] = [];
  const guard = new HalfCreatedRoomGuard({ lookup: hs.lookup, corporalUserId: '@corporal:hs', logger, handOff: (job) => handedOff.push(job) });
  hs.joined(['!old:hs']);
  const watch = await guard.watch({ accessToken: 'secret-token', masqueradeAs: null }, BOB);
  hs.pool.intercept({ path: '/_matrix/client/v3/joined_rooms', method: 'GET' }).reply(401, { errcode: 'M_UNKNOWN_TOKEN' });
  watch!.exchangeSettled(0);
  await guard.whenIdle();
  t.equal(handedOff.length, 1);
  t.same(Object.keys(handedOff[0]!).sort(), ['passDelaysMs', 'roomsBefore', 'startedAt', 'userId'], 'no token in the job');
  t.same([...handedOff[0]!.roomsBefore], ['!old:hs']);
  t.same(handedOff[0]!.passDelaysMs, [0, 5_000], 'the passes still to do');
});

t.test('a token logged out between two calls of a room: handed off too', async (t) => {
  const hs = mockHomeserver(t);
  const { logger } = captureLogger();
  const handedOff: RepairJob[] = [];
  const queue = new RoomRepairQueue<GatewayRepairJob>({ calls: new UserTokenRepairCalls(hs.lookup), logger, handOff: (job) => handedOff.push(job) });
  hs.joined(['!half:hs']);
  hs.create('!half:hs', BOB, Date.now());
  hs.pool.intercept({ path: `${room('!half:hs')}/m.room.encryption`, method: 'GET' }).reply(401, { errcode: 'M_UNKNOWN_TOKEN' });
  queue.add(job({}));
  await queue.whenIdle();
  t.equal(handedOff.length, 1);
});

t.test('a full queue hands jobs off when it can', async (t) => {
  const { logger } = captureLogger();
  const handedOff: RepairJob[] = [];
  const calls = { joinedRooms: () => new Promise<Set<string>>(() => undefined) } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1, maxQueued: 1, handOff: (job) => handedOff.push(job) });
  for (let i = 0; i < 3; i++) queue.add(job({ userId: `@u${i}:hs` }));
  t.same(handedOff.map((j) => j.userId), ['@u2:hs']);
});

t.test('a job waiting for its later pass holds no place in the queue (red team 9, second verification)', async (t) => {
  const { logger } = captureLogger();
  const looked: string[] = [];
  const calls = {
    joinedRooms: async (j: RepairJob) => { looked.push(j.userId); return new Set<string>(); },
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1 });
  queue.add(job({ userId: '@aborted:hs', passDelaysMs: [0, 60_000] }));
  queue.add(job({ userId: '@next:hs', passDelaysMs: [0] }));
  for (let turn = 0; turn < 100 && looked.length < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.same(looked, ['@aborted:hs', '@next:hs'], 'the next job ran while the first waits for its second pass');
  let idle = false;
  void queue.whenIdle().then(() => { idle = true; });
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(idle, 'a pass due later keeps the queue from being idle');
});

t.test('a client that leaves cuts its joined-rooms read at once, which frees its check-read place', async (t) => {
  const { createServer } = await import('node:http');
  const { Pool } = await import('undici');
  const held: Array<import('node:http').ServerResponse> = [];
  const server = createServer((_req, res) => { held.push(res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  t.teardown(async () => {
    for (const res of held) res.destroy();
    await pool.destroy();
    server.close();
  });
  const { logger } = captureLogger();
  const limit = new CheckReadLimit(1);
  const guard = new HalfCreatedRoomGuard({ lookup: { dispatcher: pool, basePath: '', timeoutMs: 60_000, limit }, corporalUserId: '@corporal:hs', logger });
  const client = new AbortController();
  const watching = guard.watch({ accessToken: 'secret-token', masqueradeAs: null }, BOB, client.signal);
  while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(limit.inFlight, 1, 'the read holds the only place');
  client.abort(new Error('client left'));
  await t.rejects(watching, { message: 'client left' }, 'the read ends with the client, not after Matrix.TimeoutMilliseconds');
  t.equal(limit.inFlight, 0, 'and its place is free for the next request');
});

t.test('red team 17b G1: one user\'s flood of failed creations takes one place; another user\'s repair is neither handed off nor dropped', async (t) => {
  const { logger, lines } = captureLogger();
  const handedOff: RepairJob[] = [];
  const looked: RepairJob[] = [];
  const release: Array<() => void> = [];
  const calls = {
    joinedRooms: async (j: RepairJob) => {
      looked.push(j);
      await new Promise<void>((resolve) => release.push(resolve));
      return new Set<string>();
    },
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1, maxQueued: 4, handOff: (j) => handedOff.push(j) });
  const t0 = Date.now();
  queue.add(job({ userId: '@flood:hs', roomsBefore: new Set(['!a:hs']), startedAt: t0 })); // runs at once
  for (let i = 0; i < 50; i++) {
    queue.add(job({ userId: '@flood:hs', roomsBefore: new Set(i % 2 === 0 ? ['!a:hs', '!b:hs'] : ['!b:hs', '!c:hs']), startedAt: t0 + 1_000 - i }));
  }
  queue.add(job({ userId: '@victim:hs', startedAt: t0 + 2_000 }));
  t.same(handedOff.map((j) => j.userId), [], 'nothing handed off');
  t.notOk(lines.some((l) => l.level === 50), 'nothing dropped');
  let idle = false;
  void queue.whenIdle().then(() => { idle = true; });
  for (let turn = 0; turn < 100 && !idle; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const resolve of release.splice(0)) resolve();
  }
  t.ok(idle);
  t.same(looked.map((j) => j.userId), ['@flood:hs', '@flood:hs', '@victim:hs'], 'the flood costs two passes, then the victim\'s runs');
  const merged = looked[1]!;
  t.same([...merged.roomsBefore], ['!b:hs'], 'the merged pass looks at every room new since either request');
  t.equal(merged.startedAt, t0 + 1_000 - 49, 'from the earliest start');
});

t.test('red team 17b G1: a merged job still gets the later pass of a request whose client left', async (t) => {
  const { logger } = captureLogger();
  const looked: number[] = [];
  const release: Array<() => void> = [];
  const calls = {
    joinedRooms: async (j: RepairJob) => {
      looked.push(j.startedAt);
      await new Promise<void>((resolve) => release.push(resolve));
      return new Set<string>();
    },
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1 });
  queue.add(job({ userId: '@u:hs', startedAt: 1 }));
  queue.add(job({ userId: '@u:hs', startedAt: 2, passDelaysMs: [0] }));
  queue.add(job({ userId: '@u:hs', startedAt: 3, passDelaysMs: [0, 30] }));
  let idle = false;
  void queue.whenIdle().then(() => { idle = true; });
  for (let turn = 0; turn < 400 && !idle; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (const resolve of release.splice(0)) resolve();
  }
  t.ok(idle);
  t.same(looked, [1, 2, 3], 'first job, the merged waiting pass (earliest start), then the later pass of the third');
});

t.test('red team 17b G5: a flood of passes that cannot read writes one error line, with the count held back', async (t) => {
  const { logger, lines } = captureLogger();
  const calls = { joinedRooms: async () => { throw new Error('no session'); } } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger });
  for (let i = 0; i < 20; i++) queue.add(job({ userId: `@flood${i}:hs`, passDelaysMs: [0] }));
  await queue.whenIdle();
  await new Promise((resolve) => setImmediate(resolve));
  const errors = lines.filter((l) => l['msg'] === 'cannot look for a room left unencrypted by a room creation that did not complete');
  t.equal(errors.length, 1, 'one line for 20 failed passes');
  t.equal(errors[0]?.['suppressed'], 0, 'the first is logged at once');
});

t.test('quality 18 #5: a draining thread hands every repair not running to the control process, with the wait it had left', async (t) => {
  const { logger } = captureLogger();
  const handedOff: RepairJob[] = [];
  let release: () => void = () => undefined;
  const calls = {
    joinedRooms: (j: RepairJob) => j.userId === '@running:hs' ? new Promise<Set<string>>((resolve) => { release = () => resolve(new Set()); }) : Promise.resolve(new Set<string>()),
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1, handOff: (j) => handedOff.push(j) });
  queue.add(job({ userId: '@running:hs', passDelaysMs: [0, 40_000] }));
  queue.add(job({ userId: '@waiting:hs', passDelaysMs: [0] }));
  queue.add(job({ userId: '@later:hs', passDelaysMs: [30_000] }));
  void queue.close('hand-off', 0);
  t.same(handedOff.map((j) => j.userId).sort(), ['@later:hs', '@waiting:hs'], 'due later and waiting: handed off at once');
  const later = handedOff.find((j) => j.userId === '@later:hs')!;
  t.ok(later.passDelaysMs[0]! > 29_000 && later.passDelaysMs[0]! <= 30_000, `the later pass keeps its wait (${later.passDelaysMs[0]} ms)`);
  queue.add(job({ userId: '@new:hs', passDelaysMs: [0] }));
  t.equal(handedOff.at(-1)?.userId, '@new:hs', 'a repair added after the close goes at once too');
  release();
  await queue.whenIdle();
  const running = handedOff.find((j) => j.userId === '@running:hs');
  t.ok(running, 'the running job\'s later pass is handed off when it would have been scheduled');
  t.ok(running!.passDelaysMs[0]! > 39_000, 'with its wait');
});

t.test('quality 18 #5: the control process runs the repairs due at its shutdown and names the users of those it drops', async (t) => {
  const { logger, lines } = captureLogger();
  const looked: string[] = [];
  const calls = {
    joinedRooms: async (j: RepairJob) => { looked.push(j.userId); return new Set<string>(); },
  } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger });
  queue.add(job({ userId: '@due:hs', passDelaysMs: [0, 30_000] }));
  queue.add(job({ userId: '@later:hs', passDelaysMs: [30_000] }));
  await queue.close('run', 5_000);
  t.same(looked, ['@due:hs'], 'the due pass ran');
  const dropped = lines.filter((l) => l.level === 50 && Array.isArray(l['users']));
  t.equal(dropped.length, 1, 'one line');
  t.same((dropped[0]!['users'] as string[]).sort(), ['@due:hs', '@later:hs'], 'naming both users whose later passes cannot run');
  queue.add(job({ userId: '@after:hs' }));
  t.same(looked, ['@due:hs'], 'nothing runs after the close');
});

t.test('quality 18 #5: a shutdown that cannot wait for a stuck pass drops what still waits, and says so', async (t) => {
  const { logger, lines } = captureLogger();
  const calls = { joinedRooms: () => new Promise<Set<string>>(() => undefined) } as unknown as RepairCalls<RepairJob>;
  const queue = new RoomRepairQueue<RepairJob>({ calls, logger, maxInFlight: 1 });
  queue.add(job({ userId: '@stuck:hs' }));
  queue.add(job({ userId: '@waiting:hs' }));
  await queue.close('run', 20);
  const dropped = lines.find((l) => l.level === 50 && Array.isArray(l['users']));
  t.same(dropped?.['users'], ['@waiting:hs']);
  t.equal(dropped?.['stillRunning'], 1);
});
