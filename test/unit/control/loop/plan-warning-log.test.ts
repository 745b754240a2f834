import t from 'tap';
import { PlanWarningLog } from '../../../../src/control/loop/plan-warning-log.js';
import type { PlanWarning } from '../../../../src/control/plan/types.js';
import { captureLogger } from '../../../support/control-plane.js';

const notJoined: PlanWarning = { code: 'plan.corporal_not_joined', userId: '@a:hs', roomId: '!r:hs', message: 'the corporal user is not in !r:hs' };
const notManaged: PlanWarning = { code: 'plan.room_not_managed', userId: '@a:hs', roomId: '!x:hs', message: '@a:hs should be in !x:hs, but that room is not managed' };

t.test('one warn line per warning, fixed message, text in detail; repeats of a generation at debug', async (t) => {
  const { logger, lines } = captureLogger('debug');
  const log = new PlanWarningLog();
  log.log(logger, 1, [notJoined, notManaged]);
  log.log(logger, 1, [notJoined]);
  const warns = lines.filter((line) => line['level'] === 40);
  t.same(warns.map((line) => [line['msg'], line['code'], line['userId'], line['roomId'], line['detail']]), [
    ['reconciliation plan warning', 'plan.corporal_not_joined', '@a:hs', '!r:hs', notJoined.message],
    ['reconciliation plan warning', 'plan.room_not_managed', '@a:hs', '!x:hs', notManaged.message],
  ]);
  t.match(lines.filter((line) => line['level'] === 20 && line['msg'] === 'reconciliation plan warning (repeated)'), [{ code: 'plan.corporal_not_joined' }]);

  log.log(logger, 2, [notJoined]);
  t.equal(lines.filter((line) => line['level'] === 40).length, 3, 'a new generation logs it again');
  log.log(logger, 2, [{ ...notJoined, message: 'other text' }, { ...notJoined, roomId: null }]);
  t.equal(lines.filter((line) => line['level'] === 40).length, 5, 'another text or subject is another warning');
});
