import { checkServiceUrl, isHttpToken, isSafeHeaderValue } from './formats.js';
import type { FindingsSink } from './findings.js';
import { childPointer } from './issues.js';
import { isJsonObject } from '../common/json-object.js';
import { translateRe2, type RegexSource } from './regex/re2.js';
import { GATEWAY_OWNED_REQUEST_HEADERS, HOOK_ACTIONS, HOOK_EVENT_TYPES, MATCH_RULE_TYPES, isBeforeEventType, isOneOf } from './vocabulary.js';
import { checkWellFormedJson } from './well-formed.js';

/**
 * A match-rule regex longer than this is refused before it is translated. Real rules are a few
 * dozen characters; the translation to a JavaScript pattern takes about 50 bytes of heap per
 * character, so one long regex in a small policy could exhaust the heap (verification round 13b).
 */
export const MAX_HOOK_REGEX_LENGTH = 8192;

/** Free-form JSON (payloads, injected JSON) nested deeper than this is refused: it would only risk the stack. */
export const MAX_FREE_JSON_DEPTH = 64;

const HEADER_MAPS = ['RESTServiceRequestHeaders', 'injectHeadersIntoRequest', 'injectHeadersIntoResponse'] as const;
const FREE_JSON = ['responsePayload', 'injectJSONIntoRequest', 'injectJSONIntoResponse'] as const;

/**
 * Semantic checks of `hooks` (types were checked by the schema; values of a wrong type are skipped):
 * unique non-empty ids, known event types and actions, no `pass.modifiedResponse` on a `before*`
 * hook, match rules (known type, a regex that translates from RE2 and compiles), and every field
 * the action needs (see {@link validateHookBody}). Messages follow matrix-corporal's where it has them.
 */
export function validateHooks(hooks: unknown, findings: FindingsSink): void {
  if (!Array.isArray(hooks)) return;
  const indexById = new Map<string, number>();
  hooks.forEach((hook: unknown, index) => {
    if (!isJsonObject(hook)) return;
    const pointer = childPointer('/hooks', index);
    const id = hook['id'];
    if (typeof id === 'string' && id !== '') {
      const first = indexById.get(id);
      if (first !== undefined) {
        findings.errors.push({
          pointer: childPointer(pointer, 'id'),
          message: `hook at index ${index} (ID = ${id}) has the same ID as the hook at index ${first}; assign unique hook IDs to prevent confusion`,
        });
      } else {
        indexById.set(id, index);
      }
    } else if (id === '') {
      findings.errors.push({ pointer: childPointer(pointer, 'id'), message: 'hook has no id' });
    }
    const eventType = hook['eventType'];
    if (typeof eventType === 'string' && !isOneOf(HOOK_EVENT_TYPES, eventType)) {
      findings.errors.push({ pointer: childPointer(pointer, 'eventType'), message: `\`${eventType}\` is an invalid event type for hook #${String(id)}` });
    }
    if (typeof eventType === 'string' && isBeforeEventType(eventType) && hook['action'] === 'pass.modifiedResponse') {
      findings.errors.push({
        pointer: childPointer(pointer, 'action'),
        message: `action=pass.modifiedResponse cannot be combined with eventType=${eventType}, found in hook #${String(id)}`,
      });
    }
    validateHookBody(hook, pointer, findings);
  });
}

/**
 * Checks what every hook, nested or not, must satisfy: a known action, valid match rules, the
 * action's required fields (reject: `rejectionErrorCode` + `rejectionErrorMessage`; respond:
 * `responseStatusCode` and a string payload unless it is JSON-serialised; pass.modifiedRequest:
 * `injectJSONIntoRequest`; pass.modifiedResponse: `injectJSONIntoResponse`; consult: an http(s)
 * `RESTServiceURL`), status codes 200–599 (no 1xx: a hook's answer is the final response), header names and values, and nested hooks, recursively.
 */
export function validateHookBody(hook: Record<string, unknown>, pointer: string, findings: FindingsSink): void {
  const label = typeof hook['id'] === 'string' && hook['id'] !== '' ? `#${hook['id']}` : `at ${pointer}`;
  const action = hook['action'];
  if (typeof action === 'string' && !isOneOf(HOOK_ACTIONS, action)) {
    findings.errors.push({ pointer: childPointer(pointer, 'action'), message: `\`${action}\` is an invalid action for hook ${label}` });
  }
  if (Array.isArray(hook['matchRules'])) validateMatchRules(hook['matchRules'], childPointer(pointer, 'matchRules'), findings);
  const requireField = (field: string, what: string): void => {
    if (hook[field] === undefined) findings.errors.push({ pointer: childPointer(pointer, field), message: `${action} hook ${label} needs ${field} (${what})` });
  };
  switch (action) {
    case 'reject':
      requireField('rejectionErrorCode', 'the Matrix errcode to answer with');
      requireField('rejectionErrorMessage', 'the error message to answer with');
      // matrix-corporal answered `{"errcode": ""}` and so does Corporal; a policy that has it must still load (parity review 18, P2).
      if (hook['rejectionErrorCode'] === '') {
        findings.warnings.push({ pointer: childPointer(pointer, 'rejectionErrorCode'), message: 'rejectionErrorCode is empty: the answer carries no Matrix errcode, which clients may not understand' });
      }
      break;
    case 'respond':
      requireField('responseStatusCode', 'the HTTP status to answer with');
      checkRespondPayload(hook, pointer, findings);
      break;
    case 'pass.modifiedRequest':
      requireField('injectJSONIntoRequest', 'an object, possibly {}');
      break;
    case 'pass.modifiedResponse':
      requireField('injectJSONIntoResponse', 'an object, possibly {}');
      break;
    case 'consult.RESTServiceURL':
      requireField('RESTServiceURL', 'the http(s) URL of the service');
      break;
  }
  checkFieldFormats(hook, pointer, findings);
  for (const name of ['RESTServiceAsyncResultHook', 'RESTServiceContingencyHook'] as const) {
    const nested = hook[name];
    if (isJsonObject(nested)) validateHookBody(nested, childPointer(pointer, name), findings);
  }
}

function validateMatchRules(rules: unknown[], pointer: string, findings: FindingsSink): void {
  rules.forEach((rule: unknown, index) => {
    if (!isJsonObject(rule)) return;
    const rulePointer = childPointer(pointer, index);
    if (typeof rule['type'] === 'string' && !isOneOf(MATCH_RULE_TYPES, rule['type'])) {
      findings.errors.push({ pointer: childPointer(rulePointer, 'type'), message: `\`${rule['type']}\` is an invalid hook match rule type` });
    }
    const regex = rule['regex'];
    if (typeof regex !== 'string') return;
    const regexPointer = childPointer(rulePointer, 'regex');
    if (regex.length > MAX_HOOK_REGEX_LENGTH) {
      findings.errors.push({ pointer: regexPointer, message: `regex of ${regex.length} characters: longer than ${MAX_HOOK_REGEX_LENGTH}` });
      return;
    }
    const translation = translateRe2(regex);
    if (!translation.ok) {
      findings.errors.push({ pointer: regexPointer, message: `regex \`${regex}\`: ${translation.message}` });
      return;
    }
    for (const warning of translation.warnings) findings.warnings.push({ pointer: regexPointer, message: `regex \`${regex}\`: ${warning}` });
    if (regex === '') findings.warnings.push({ pointer: regexPointer, message: 'empty regex: this rule matches everything' });
    const media = rule['type'] === 'route' ? oneMediaTreeWarning(regex, translation.regex) : null;
    if (media !== null) findings.warnings.push({ pointer: regexPointer, message: media });
  });
}

/** Route rules longer than this are not checked for naming one media tree only. */
const MAX_MEDIA_LINT_LENGTH = 1000;

/** Media endpoints Synapse serves under both trees, as the path after the tree's prefix. */
const SHARED_MEDIA_ENDPOINTS: readonly string[] = ['download/example.org/abcdef', 'download/example.org/abcdef/f.png', 'thumbnail/example.org/abcdef', 'config', 'preview_url'];

/**
 * Synapse serves media downloads, thumbnails, the media config and URL previews under two trees:
 * the legacy `/_matrix/media/{r0,v1,v3}/…` and the authenticated `/_matrix/client/v1/media/…`.
 * Route rules treat them as different paths (a rule aimed at the legacy API, to retire it, must
 * not block the other), so a rule that matches an endpoint in one tree and not in the other is
 * probably meant for both: said out loud (verification 15b). Tested on sample paths, with the
 * rule's translated regex.
 */
function oneMediaTreeWarning(regex: string, translated: RegexSource): string | null {
  // Only short rules that name media are compiled here: the check must not add to what a crafted
  // policy of huge regexes costs to validate (load-bounds.test.ts).
  if (regex.length > MAX_MEDIA_LINT_LENGTH || !/media/i.test(regex)) return null;
  const test = new RegExp(translated.source, translated.flags);
  for (const endpoint of SHARED_MEDIA_ENDPOINTS) {
    const legacy = ['r0', 'v1', 'v3'].some((version) => test.test(`/_matrix/media/${version}/${endpoint}`));
    const authenticated = test.test(`/_matrix/client/v1/media/${endpoint}`);
    if (legacy === authenticated) continue;
    return legacy
      ? `regex \`${regex}\` matches the legacy media API (/_matrix/media/…/${endpoint}) but not authenticated media (/_matrix/client/v1/media/${endpoint}), which serves the same; add that path if the rule is meant for media as such`
      : `regex \`${regex}\` matches authenticated media (/_matrix/client/v1/media/${endpoint}) but not the legacy media API (/_matrix/media/…/${endpoint}), which serves the same; add that path if the rule is meant for media as such`;
  }
  return null;
}

function checkRespondPayload(hook: Record<string, unknown>, pointer: string, findings: FindingsSink): void {
  const contentType = hook['responseContentType'] ?? 'application/json';
  const raw = contentType !== 'application/json' || hook['responseSkipPayloadJSONSerialization'] === true;
  if (raw && typeof hook['responsePayload'] !== 'string') {
    findings.errors.push({
      pointer: childPointer(pointer, 'responsePayload'),
      message: 'responsePayload must be a string when responseContentType is not application/json or responseSkipPayloadJSONSerialization is true',
    });
  }
}

function checkFieldFormats(hook: Record<string, unknown>, pointer: string, findings: FindingsSink): void {
  const error = (field: string, message: string): void => {
    findings.errors.push({ pointer: childPointer(pointer, field), message });
  };
  const status = hook['responseStatusCode'];
  if (typeof status === 'number' && Number.isInteger(status) && (status < 200 || status > 599)) {
    error('responseStatusCode', 'must be an HTTP status code from 200 to 599 (a hook answers with a final response; 1xx are interim)');
  }
  const url = hook['RESTServiceURL'];
  const urlProblem = typeof url === 'string' ? checkServiceUrl(url) : null;
  if (urlProblem !== null) error('RESTServiceURL', `must be an http(s) URL (it ${urlProblem})`);
  const method = hook['RESTServiceRequestMethod'];
  if (typeof method === 'string' && !isHttpToken(method)) error('RESTServiceRequestMethod', 'must be an HTTP method name');
  // undici refuses to send CONNECT as a plain request: every consultation would fail as
  // "unreachable", pointing at the network instead of at the policy. (Go's client could not send
  // one either: CONNECT takes an authority, not the URL's path.)
  else if (method === 'CONNECT') error('RESTServiceRequestMethod', 'CONNECT cannot be used for a consultation');
  else if (typeof method === 'string' && method !== method.toUpperCase()) {
    findings.warnings.push({
      pointer: childPointer(pointer, 'RESTServiceRequestMethod'),
      message: `RESTServiceRequestMethod \`${method}\` is not upper case: methods are case-sensitive, it is sent as written, and most services answer 400`,
    });
  }
  const contentType = hook['responseContentType'];
  if (typeof contentType === 'string' && (contentType === '' || !isSafeHeaderValue(contentType))) {
    error('responseContentType', 'must be a non-empty header value without line breaks');
  }
  for (const field of HEADER_MAPS) {
    const headers = hook[field];
    if (!isJsonObject(headers)) continue;
    // No entry arrays, and pointers only for what is reported: a map may hold millions of headers.
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      const value = headers[name];
      if (field === 'injectHeadersIntoRequest' && GATEWAY_OWNED_REQUEST_HEADERS.has(name.toLowerCase())) {
        findings.warnings.push({
          pointer: childPointer(childPointer(pointer, field), name),
          message: `\`${name}\` is set by the gateway, not by hooks: this entry is ignored`,
        });
      }
      const nameOk = isHttpToken(name);
      const valueOk = typeof value !== 'string' || isSafeHeaderValue(value);
      if (nameOk && valueOk) continue;
      const headerPointer = childPointer(childPointer(pointer, field), name);
      if (!nameOk) findings.errors.push({ pointer: headerPointer, message: `\`${name}\` is not a valid header name` });
      if (!valueOk) findings.errors.push({ pointer: headerPointer, message: 'header values must not contain CR, LF or NUL' });
    }
  }
  for (const field of FREE_JSON) {
    const value = hook[field];
    // The injected JSON must be an object: of another type, the type check has reported it already.
    if (field !== 'responsePayload' && !isJsonObject(value)) continue;
    if (jsonDepthExceeds(value, MAX_FREE_JSON_DEPTH)) error(field, `nested deeper than ${MAX_FREE_JSON_DEPTH} levels`);
    checkWellFormedJson(value, childPointer(pointer, field), findings.errors, MAX_FREE_JSON_DEPTH);
  }
}

/**
 * True when a JSON value nests arrays/objects more than `max` levels deep. Recursive to at most
 * `max + 1` levels, so neither the stack nor memory grows with the value's size (a stack of every
 * pending member held each element of a long array at once).
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) if (jsonDepthExceeds(value[index], max - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && jsonDepthExceeds((value as Record<string, unknown>)[key], max - 1)) return true;
  }
  return false;
}
