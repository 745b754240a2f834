import t from 'tap';
import { countedConsultor, type HookConsultor } from '../../../../src/gateway/hooks/consultor.js';
import type { ConsultHookInput } from '../../../../src/offload/consult-hook.js';

t.test('each consultation is counted once: ok, failed, or rejected (passed on)', async (t) => {
  const answers: Array<'ok' | 'failed' | 'throw'> = ['ok', 'failed', 'throw'];
  const inner: HookConsultor = {
    consult: async () => {
      const next = answers.shift();
      if (next === 'throw') throw new Error('the pool is gone');
      return next === 'ok'
        ? { ok: true, value: { hook: { id: 'h', action: 'pass.unmodified' }, warnings: [], attempts: 1 } } as never
        : { ok: false, code: 'consult-failed', message: 'HTTP 500' };
    },
  };
  const counted: boolean[] = [];
  const consultor = countedConsultor(inner, (ok) => counted.push(ok));
  const input = {} as ConsultHookInput;
  t.equal((await consultor.consult(input)).ok, true);
  t.equal((await consultor.consult(input)).ok, false);
  await t.rejects(consultor.consult(input), /the pool is gone/);
  t.same(counted, [true, false, false]);
});
