import type { ConsultHookInput } from '../../offload/consult-hook.js';
import type { ConsultHook } from '../../policy/snapshot.js';
import type { HookRequest } from './hook-request.js';
import type { ResponseState } from './response-state.js';

/**
 * The input of a consultation of `hook` about `request` (and, for after-hooks, `response` as it is
 * now). Reads the request body if nobody has yet (it is part of the payload); rejects as the
 * request's body reader does (413 when too large).
 */
export async function consultInput(hook: ConsultHook, request: HookRequest, response: ResponseState | null, maxAnswerBytes: number): Promise<ConsultHookInput> {
  const body = await request.body();
  return {
    hookId: hook.id,
    userId: request.userId,
    service: {
      url: hook.RESTServiceURL,
      method: hook.RESTServiceRequestMethod,
      headers: hook.RESTServiceRequestHeaders,
      timeoutMs: hook.RESTServiceRequestTimeoutMilliseconds,
      retryAttempts: hook.RESTServiceRetryAttempts,
      retryWaitMs: hook.RESTServiceRetryWaitTimeMilliseconds,
    },
    request: { uri: request.uri, path: request.path, method: request.method, headers: request.headersForService(), body: exactBytes(body) },
    response: response === null ? null : { status: response.status, headers: response.headerList(), body: exactBytes(response.body) },
    maxAnswerBytes,
    // An async consultation outlives the request by design; a sync one is of no use after it.
    abandonAt: hook.RESTServiceAsync || request.abandonAt === Number.POSITIVE_INFINITY ? null : request.abandonAt,
  };
}

/**
 * The bytes of `view` in a buffer of their own. Structured clone copies a view's whole backing
 * store, so a small body that is a slice of a larger (or pooled) allocation would otherwise drag
 * all of it to the pool worker.
 */
function exactBytes(view: Buffer): Uint8Array {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) return view;
  return new Uint8Array(view);
}
