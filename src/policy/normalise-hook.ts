import { childPointer } from './issues.js';
import { isJsonObject } from '../common/json-object.js';
import { objectShape, readFields, type NormaliseContext } from './normalise-fields.js';
import type { PolicyHook, PolicyHookBody, PolicyMatchRule } from './types.js';
import type { MatchRuleType } from './vocabulary.js';

/** Hooks nested (through `RESTService*Hook`) deeper than this are refused. */
export const MAX_HOOK_NESTING = 8;

const SHORTHANDS: readonly (readonly [ShorthandKey, MatchRuleType])[] = [
  ['routeMatchesRegex', 'route'],
  ['methodMatchesRegex', 'method'],
  ['matrixUserIdMatchesRegex', 'matrixUserID'],
];
type ShorthandKey = 'routeMatchesRegex' | 'methodMatchesRegex' | 'matrixUserIdMatchesRegex';

/** Fields of a hook body whose value is copied as written (validation checks their types). */
const PLAIN_FIELDS = [
  'RESTServiceURL', 'RESTServiceRequestMethod', 'RESTServiceRequestHeaders', 'RESTServiceRequestTimeoutMilliseconds',
  'RESTServiceRetryAttempts', 'RESTServiceRetryWaitTimeMilliseconds', 'RESTServiceAsync',
  'responsePayload', 'responseSkipPayloadJSONSerialization', 'responseStatusCode', 'responseContentType',
  'rejectionErrorCode', 'rejectionErrorMessage',
  'injectJSONIntoRequest', 'injectHeadersIntoRequest', 'injectJSONIntoResponse', 'injectHeadersIntoResponse',
] as const;

type PlainField = (typeof PLAIN_FIELDS)[number];
type NestedHookField = 'RESTServiceAsyncResultHook' | 'RESTServiceContingencyHook';

/**
 * The fields each action reads (matrix-corporal §7.4). Any other field of a hook with that action
 * is dropped before validation, with a warning unless it holds a placeholder (`""`, `0`, `false`,
 * `null`, `{}`, `[]`): matrix-corporal never looked at it, so policies that carry placeholder or
 * leftover values there (generators emit every field) loaded and worked, and must still (parity
 * review 18, P2). A hook with an unknown action keeps everything (the action is the error).
 */
const FIELDS_USED_BY_ACTION: ReadonlyMap<string, ReadonlySet<PlainField | NestedHookField>> = new Map<string, ReadonlySet<PlainField | NestedHookField>>([
  ['pass.unmodified', new Set()],
  ['reject', new Set(['responseStatusCode', 'rejectionErrorCode', 'rejectionErrorMessage'])],
  ['respond', new Set(['responseStatusCode', 'responseContentType', 'responsePayload', 'responseSkipPayloadJSONSerialization'])],
  ['pass.modifiedRequest', new Set(['injectJSONIntoRequest', 'injectHeadersIntoRequest'])],
  ['pass.modifiedResponse', new Set(['injectJSONIntoResponse', 'injectHeadersIntoResponse'])],
  ['consult.RESTServiceURL', new Set([
    'RESTServiceURL', 'RESTServiceRequestMethod', 'RESTServiceRequestHeaders', 'RESTServiceRequestTimeoutMilliseconds',
    'RESTServiceRetryAttempts', 'RESTServiceRetryWaitTimeMilliseconds', 'RESTServiceAsync',
    'RESTServiceAsyncResultHook', 'RESTServiceContingencyHook',
  ])],
]);

/**
 * Fields an action reads that have a default (reference §7.1: a reject's status 403, a response's
 * content type `application/json`, a consultation's method and timeout): a placeholder there (`0`,
 * `""`) means "unset", as a Go zero value did, and takes the default instead of refusing the
 * policy or a REST service's answer (verification 18, V6).
 */
const DEFAULTED_BY_ACTION: ReadonlyMap<string, ReadonlySet<PlainField>> = new Map<string, ReadonlySet<PlainField>>([
  ['reject', new Set(['responseStatusCode'])],
  ['respond', new Set(['responseContentType'])],
  ['consult.RESTServiceURL', new Set(['RESTServiceRequestMethod', 'RESTServiceRequestTimeoutMilliseconds'])],
]);

const HOOK_FIELDS = [
  'id', 'eventType', 'matchRules', 'action', 'skipNextHooksInChain',
  ...PLAIN_FIELDS, 'RESTServiceAsyncResultHook', 'RESTServiceContingencyHook',
  'routeMatchesRegex', 'methodMatchesRegex', 'matrixUserIdMatchesRegex',
] as const;
type HookFields = Partial<Record<(typeof HOOK_FIELDS)[number], unknown>>;
const HOOK_SHAPE = objectShape(HOOK_FIELDS);

const RULE_SHAPE = objectShape(['type', 'regex', 'invert']);

/**
 * Normalises one top-level hook: canonical keys, defaults (`matchRules` [], `skipNextHooksInChain`,
 * `RESTServiceAsync` and `responseSkipPayloadJSONSerialization` false, `id`/`eventType`/`action` ''),
 * and the shorthand keys `routeMatchesRegex`, `methodMatchesRegex`, `matrixUserIdMatchesRegex`
 * appended to `matchRules` as `route`, `method` and `matrixUserID` rules. (matrix-corporal 3.x
 * ignored these keys, so such a hook matched every request; Corporal matches what they say.)
 */
export function normaliseHook(raw: Record<string, unknown>, pointer: string, context: NormaliseContext): PolicyHook {
  const fields = readFields(raw, HOOK_SHAPE, () => pointer, context);
  const { id, ...body } = hookBody(fields, pointer, context, 0);
  return { id, eventType: fields.eventType ?? '', ...body } as PolicyHook;
}

/**
 * Normalises a hook that runs right away, without an event type: one nested in another
 * (`RESTServiceAsyncResultHook`, `RESTServiceContingencyHook`) or one a REST service returned.
 * An `eventType` is ignored with a warning.
 */
export function normaliseHookBody(raw: Record<string, unknown>, pointer: string, context: NormaliseContext, depth = 0): PolicyHookBody {
  const fields = readFields(raw, HOOK_SHAPE, () => pointer, context);
  if (fields.eventType !== undefined) {
    context.warnings.push({
      pointer: childPointer(pointer, 'eventType'),
      message: 'eventType is ignored on a nested hook: it runs right away, where its parent hook runs',
    });
  }
  return hookBody(fields, pointer, context, depth);
}

function hookBody(fields: HookFields, pointer: string, context: NormaliseContext, depth: number): PolicyHookBody {
  const body: Record<string, unknown> = {
    id: fields.id ?? '',
    matchRules: matchRules(fields, pointer, context),
    action: fields.action ?? '',
    skipNextHooksInChain: fields.skipNextHooksInChain ?? false,
    RESTServiceAsync: false,
    responseSkipPayloadJSONSerialization: false,
  };
  const used = typeof fields.action === 'string' ? FIELDS_USED_BY_ACTION.get(fields.action) : undefined;
  const isIgnored = (name: PlainField | NestedHookField): boolean => {
    if (used === undefined || used.has(name)) return false;
    if (!isPlaceholder(fields[name])) {
      context.warnings.push({ pointer: childPointer(pointer, name), message: `${name} is ignored: a ${String(fields.action)} hook does not use it` });
    }
    return true;
  };
  const defaulted = typeof fields.action === 'string' ? DEFAULTED_BY_ACTION.get(fields.action) : undefined;
  for (const name of PLAIN_FIELDS) {
    if (fields[name] === undefined || isIgnored(name)) continue;
    if (defaulted?.has(name) === true && isPlaceholder(fields[name])) continue;
    body[name] = fields[name];
  }
  for (const name of ['RESTServiceAsyncResultHook', 'RESTServiceContingencyHook'] as const) {
    const nested = fields[name];
    if (nested === undefined || isIgnored(name)) continue;
    const nestedPointer = childPointer(pointer, name);
    if (!isJsonObject(nested)) {
      body[name] = nested;
    } else if (depth + 1 > MAX_HOOK_NESTING) {
      context.errors.push({ pointer: nestedPointer, message: `hooks nested deeper than ${MAX_HOOK_NESTING} levels` });
    } else {
      body[name] = normaliseHookBody(nested, nestedPointer, context, depth + 1);
    }
  }
  return body as unknown as PolicyHookBody;
}

/** A value that says nothing: what a generator writes for a field it has no value for. */
function isPlaceholder(value: unknown): boolean {
  if (value === '' || value === 0 || value === false || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isJsonObject(value) && Object.keys(value).length === 0;
}

function matchRules(fields: HookFields, pointer: string, context: NormaliseContext): unknown {
  const given = fields.matchRules ?? [];
  if (!Array.isArray(given)) return given;
  const rulesPointer = childPointer(pointer, 'matchRules');
  const rules: unknown[] = given.map((rule, index) =>
    isJsonObject(rule) ? normaliseRule(rule, childPointer(rulesPointer, index), context) : rule,
  );
  for (const [key, type] of SHORTHANDS) {
    const regex = fields[key];
    if (regex === undefined) continue;
    context.shorthandRules.set(childPointer(rulesPointer, rules.length), childPointer(pointer, key));
    rules.push({ type, regex, invert: false });
  }
  return rules;
}

function normaliseRule(raw: Record<string, unknown>, pointer: string, context: NormaliseContext): PolicyMatchRule {
  const fields = readFields(raw, RULE_SHAPE, () => pointer, context);
  return { type: fields.type ?? '', regex: fields.regex ?? '', invert: fields.invert ?? false } as PolicyMatchRule;
}
