import { ErrCode, matrixErrorJson } from '../../common/matrix-errors.js';
import type { RejectHook, RespondHook } from '../../policy/snapshot.js';
import type { HeaderPair } from '../respond.js';

/** A response produced by a hook instead of (or in place of) the homeserver's. */
export interface HookAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * matrix-corporal's answer when a before-hook (or a hook a REST service returned to one) cannot be
 * executed: fail closed.
 */
export const BEFORE_HOOK_FAILED: HookAnswer = Object.freeze({
  status: 503,
  contentType: 'application/json',
  body: matrixErrorJson(ErrCode.Unknown, 'Hook execution failed, cannot proceed'),
});

/**
 * matrix-corporal's answer when an after-hook cannot be executed. "Afer" is matrix-corporal's typo,
 * kept on purpose: the message is part of the observable behaviour clients and monitoring may match
 * (Corporal keeps the reference's other message typos too).
 */
export const AFTER_HOOK_FAILED: HookAnswer = Object.freeze({
  status: 503,
  contentType: 'application/json',
  body: matrixErrorJson(ErrCode.Unknown, 'Afer-hook execution failed, cannot proceed'),
});

/** `reject`: `{"errcode","error"}` with the hook's status (default 403, resolved at compile time). */
export function rejectAnswer(hook: RejectHook): HookAnswer {
  return { status: hook.responseStatusCode, contentType: 'application/json', body: matrixErrorJson(hook.rejectionErrorCode, hook.rejectionErrorMessage) };
}

/** `respond`: the hook's status, content type and precomputed body. */
export function respondAnswer(hook: RespondHook): HookAnswer {
  return { status: hook.responseStatusCode, contentType: hook.responseContentType, body: hook.responseBody };
}

/** The headers of a local answer sent to the client, as matrix-corporal sets them: `Content-Type` and `Access-Control-Allow-Origin: *`. */
export function hookAnswerHeaders(answer: HookAnswer): HeaderPair[] {
  return [['Content-Type', answer.contentType], ['Access-Control-Allow-Origin', '*']];
}
