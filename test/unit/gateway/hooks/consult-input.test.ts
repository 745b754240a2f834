import t from 'tap';
import { consultInput } from '../../../../src/gateway/hooks/consult-input.js';
import type { HookRequest } from '../../../../src/gateway/hooks/hook-request.js';
import type { ConsultHook } from '../../../../src/policy/snapshot.js';

/** The parts of a request consultInput reads. */
function request(abandonAt: number): HookRequest {
  return {
    userId: '@alice:example.org', uri: '/x', path: '/x', method: 'POST', abandonAt,
    body: async () => Buffer.from('{}'), headersForService: () => ({}),
  } as unknown as HookRequest;
}

function hook(async: boolean): ConsultHook {
  return {
    id: 'h', RESTServiceURL: 'http://service.example/', RESTServiceRequestMethod: 'POST', RESTServiceRequestHeaders: {},
    RESTServiceRequestTimeoutMilliseconds: 1000, RESTServiceRetryAttempts: 0, RESTServiceRetryWaitTimeMilliseconds: 0, RESTServiceAsync: async,
  } as unknown as ConsultHook;
}

t.test('consultInput: a sync consultation is abandoned with its request, an async one never (mutation 18)', async (t) => {
  const at = Date.now() + 5_000;
  t.equal((await consultInput(hook(false), request(at), null, 1024)).abandonAt, at, 'sync: the request\'s time limit');
  t.equal((await consultInput(hook(true), request(at), null, 1024)).abandonAt, null, 'async: outlives the request');
  t.equal((await consultInput(hook(false), request(Number.POSITIVE_INFINITY), null, 1024)).abandonAt, null, 'no limit: null (structured-clone safe)');
});
