import { CorporalError } from '../common/errors.js';
import { enableLinearRegExpEngine } from '../common/linear-regexp.js';
import { translateRe2 } from './regex/re2.js';
import type { HookEventType, SnapshotHook, SnapshotHookBase, SnapshotMatchRule } from './snapshot.js';
import type { PolicyHookBody, PolicyMatchRule } from './types.js';

/** matrix-corporal's defaults for consult hooks. */
const DEFAULT_REST_METHOD = 'POST';
const DEFAULT_REST_TIMEOUT_MS = 30_000;
const DEFAULT_REJECT_STATUS = 403;
const DEFAULT_CONTENT_TYPE = 'application/json';

/**
 * Compiles one validated hook body into its snapshot form: regexes translated to JS sources,
 * action defaults resolved, the respond body precomputed, nested hooks compiled (a nested hook
 * without an id is named `<parent id>-unnamed-response`, as matrix-corporal names REST-returned hooks).
 *
 * Throws `CORP_ERR_POLICY_NOT_VALIDATED` if a regex does not translate: callers compile only
 * documents that `validatePolicy` accepted.
 */
export function compileHook(hook: PolicyHookBody, eventType: HookEventType | null): SnapshotHook {
  const base: SnapshotHookBase = {
    id: hook.id,
    eventType,
    matchRules: hook.matchRules.map(compileMatchRule),
    skipNextHooksInChain: hook.skipNextHooksInChain,
  };
  switch (hook.action) {
    case 'pass.unmodified':
      return { ...base, action: hook.action };
    case 'reject':
      return {
        ...base,
        action: hook.action,
        responseStatusCode: hook.responseStatusCode ?? DEFAULT_REJECT_STATUS,
        rejectionErrorCode: hook.rejectionErrorCode ?? '',
        rejectionErrorMessage: hook.rejectionErrorMessage ?? '',
      };
    case 'respond': {
      const contentType = hook.responseContentType ?? DEFAULT_CONTENT_TYPE;
      const raw = contentType !== DEFAULT_CONTENT_TYPE || hook.responseSkipPayloadJSONSerialization;
      return {
        ...base,
        action: hook.action,
        responseStatusCode: hook.responseStatusCode ?? 200,
        responseContentType: contentType,
        responseBody: raw ? String(hook.responsePayload) : JSON.stringify(hook.responsePayload ?? null),
      };
    }
    case 'pass.modifiedRequest':
      return {
        ...base,
        action: hook.action,
        injectJSONIntoRequest: hook.injectJSONIntoRequest ?? {},
        injectHeadersIntoRequest: hook.injectHeadersIntoRequest ?? {},
      };
    case 'pass.modifiedResponse':
      return {
        ...base,
        action: hook.action,
        injectJSONIntoResponse: hook.injectJSONIntoResponse ?? {},
        injectHeadersIntoResponse: hook.injectHeadersIntoResponse ?? {},
      };
    case 'consult.RESTServiceURL':
      return {
        ...base,
        action: hook.action,
        RESTServiceURL: hook.RESTServiceURL ?? '',
        RESTServiceRequestMethod: hook.RESTServiceRequestMethod ?? DEFAULT_REST_METHOD,
        RESTServiceRequestHeaders: hook.RESTServiceRequestHeaders ?? {},
        RESTServiceRequestTimeoutMilliseconds: hook.RESTServiceRequestTimeoutMilliseconds ?? DEFAULT_REST_TIMEOUT_MS,
        RESTServiceRetryAttempts: hook.RESTServiceRetryAttempts ?? 0,
        RESTServiceRetryWaitTimeMilliseconds: hook.RESTServiceRetryWaitTimeMilliseconds ?? 0,
        RESTServiceAsync: hook.RESTServiceAsync,
        RESTServiceAsyncResultHook: compileNested(hook.RESTServiceAsyncResultHook ?? passUnmodified(), hook.id),
        RESTServiceContingencyHook: hook.RESTServiceContingencyHook === undefined ? null : compileNested(hook.RESTServiceContingencyHook, hook.id),
      };
  }
}

function compileNested(hook: PolicyHookBody, parentId: string): SnapshotHook {
  return compileHook(hook.id === '' ? { ...hook, id: `${parentId}-unnamed-response` } : hook, null);
}

function passUnmodified(): PolicyHookBody {
  return { id: '', matchRules: [], action: 'pass.unmodified', skipNextHooksInChain: false, RESTServiceAsync: false, responseSkipPayloadJSONSerialization: false };
}

function compileMatchRule(rule: PolicyMatchRule): SnapshotMatchRule {
  const translation = translateRe2(rule.regex);
  if (!translation.ok) {
    throw new CorporalError('CORP_ERR_POLICY_NOT_VALIDATED', `match rule regex \`${rule.regex}\` does not compile: ${translation.message}`, { source: 'policy' });
  }
  return { type: rule.type, regex: rule.regex, source: translation.regex.source, flags: translation.regex.flags, invert: rule.invert };
}

/**
 * Builds the matcher of a compiled rule; call once per snapshot per thread, never per request.
 * Turns on V8's linear-time fallback first: these run against what clients send, and a rule
 * written for RE2 may backtrack exponentially otherwise (see common/linear-regexp.ts).
 */
export function matchRuleRegExp(rule: SnapshotMatchRule): RegExp {
  enableLinearRegExpEngine();
  return new RegExp(rule.source, rule.flags);
}
