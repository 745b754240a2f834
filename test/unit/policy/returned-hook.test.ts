import t from 'tap';
import { compileReturnedHook } from '../../../src/policy/returned-hook.js';

t.test('a valid returned hook compiles to a typeless hook; a missing id is derived from the parent', async (t) => {
  t.same(compileReturnedHook({ action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no' }, 'ask'), {
    ok: true,
    hook: {
      id: 'ask-unnamed-response',
      eventType: null,
      matchRules: [],
      skipNextHooksInChain: false,
      action: 'reject',
      responseStatusCode: 403,
      rejectionErrorCode: 'M_FORBIDDEN',
      rejectionErrorMessage: 'no',
    },
    warnings: [],
  });
});

t.test('keys in any case; eventType and matchRules are ignored with warnings', async (t) => {
  const result = compileReturnedHook({
    ID: 'inner', EventType: 'afterAnyRequest', Action: 'pass.modifiedResponse', InjectJSONIntoResponse: { a: 1 },
    matchRules: [{ type: 'route', regex: '(' }],
  }, 'ask');
  t.same(result, {
    ok: true,
    hook: {
      id: 'inner', eventType: null, matchRules: [], skipNextHooksInChain: false,
      action: 'pass.modifiedResponse', injectJSONIntoResponse: { a: 1 }, injectHeadersIntoResponse: {},
    },
    warnings: [
      { pointer: '/eventType', message: 'eventType is ignored on a nested hook: it runs right away, where its parent hook runs' },
      { pointer: '/matchRules', message: 'matchRules of a returned hook are ignored' },
    ],
  });
});

t.test('a returned hook that cannot run is refused with every reason', async (t) => {
  t.same(compileReturnedHook({ action: 'respond', responseStatusCode: '200', responseContentType: 'text/plain', responsePayload: { a: 1 } }, 'ask'), {
    ok: false,
    errors: [
      { pointer: '/responseStatusCode', message: 'expected an integer, got a string' },
      { pointer: '/responsePayload', message: 'responsePayload must be a string when responseContentType is not application/json or responseSkipPayloadJSONSerialization is true' },
    ],
  });
  t.same(compileReturnedHook({ action: 'launch' }, 'ask'), {
    ok: false,
    errors: [{ pointer: '/action', message: '`launch` is an invalid action for hook #ask-unnamed-response' }],
  });
  t.same(compileReturnedHook({}, 'ask'), {
    ok: false,
    errors: [{ pointer: '/action', message: '`` is an invalid action for hook #ask-unnamed-response' }],
  });
  t.same(compileReturnedHook([1], 'ask'), { ok: false, errors: [{ pointer: '', message: 'the REST service did not return a JSON object' }] });
});

t.test('a returned hook answering with an interim (1xx) status is refused', async (t) => {
  const status = { pointer: '/responseStatusCode', message: 'must be an HTTP status code from 200 to 599 (a hook answers with a final response; 1xx are interim)' };
  t.same(compileReturnedHook({ action: 'respond', responseStatusCode: 100, responsePayload: { a: 1 } }, 'ask'), { ok: false, errors: [status] });
  t.same(compileReturnedHook({ action: 'reject', responseStatusCode: 101, rejectionErrorCode: 'M_X', rejectionErrorMessage: 'x' }, 'ask'), { ok: false, errors: [status] });
  t.match(compileReturnedHook({ action: 'respond', responseStatusCode: 204, responsePayload: { a: 1 } }, 'ask'), { ok: true }, '204 is a final status');
});

t.test('a returned consult hook may chain, with its own contingency', async (t) => {
  const result = compileReturnedHook({
    action: 'consult.RESTServiceURL', RESTServiceURL: 'http://next.example/', RESTServiceAsync: true,
    RESTServiceContingencyHook: { id: 'fallback', action: 'pass.unmodified' },
  }, 'ask');
  t.match(result, {
    ok: true,
    hook: {
      id: 'ask-unnamed-response',
      action: 'consult.RESTServiceURL',
      RESTServiceAsync: true,
      RESTServiceAsyncResultHook: { id: 'ask-unnamed-response-unnamed-response', action: 'pass.unmodified' },
      RESTServiceContingencyHook: { id: 'fallback', action: 'pass.unmodified' },
    },
  });
});

t.test('a returned hook with a lone surrogate in a string or in its JSON is refused, without quoting it', async (t) => {
  const message = 'must be well-formed Unicode text: it has a lone surrogate (a \\uD800–\\uDFFF escape without its pair)';
  t.same(compileReturnedHook({ action: 'respond', responseStatusCode: 200, responseContentType: 'text/plain', responsePayload: 'Al\ud800ice' }, 'ask'), {
    ok: false,
    errors: [{ pointer: '/responsePayload', message }],
  });
  t.same(compileReturnedHook({ action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: { b: ['\udc00'] } } }, 'ask'), {
    ok: false,
    errors: [{ pointer: '/injectJSONIntoRequest/a/b/0', message }],
  });
});

t.test('parity 18 P2: a returned hook with fields its action does not use still runs (matrix-corporal did not validate them)', async (t) => {
  const result = compileReturnedHook({ action: 'pass.unmodified', RESTServiceURL: 'not a url', RESTServiceRequestTimeoutMilliseconds: 0 }, 'ask');
  t.match(result, { ok: true, hook: { action: 'pass.unmodified' } });
  t.match(result.ok ? result.warnings : [], [{ pointer: '/RESTServiceURL', message: 'RESTServiceURL is ignored: a pass.unmodified hook does not use it' }]);
});

t.test('verification 18, V6: a zero value in a field with a default takes the default, as a Go zero value did', async (t) => {
  t.match(compileReturnedHook({ action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no', responseStatusCode: 0 }, 'ask'), { ok: true, hook: { responseStatusCode: 403 } });
  t.match(compileReturnedHook({ action: 'consult.RESTServiceURL', RESTServiceURL: 'http://127.0.0.1:9/', RESTServiceRequestMethod: '', RESTServiceRequestTimeoutMilliseconds: 0 }, 'ask'),
    { ok: true, hook: { RESTServiceRequestMethod: 'POST', RESTServiceRequestTimeoutMilliseconds: 30_000 } });
  t.match(compileReturnedHook({ action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no', responseStatusCode: 700 }, 'ask'), { ok: false }, 'a real bad value is still refused');
});
