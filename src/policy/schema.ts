import { MAX_TIMER_MS } from '../common/timer-limit.js';
import type { ErrorObject, SchemaObject } from 'ajv';
import type { IssueSink } from './findings.js';
import { ShapeCompiler } from './shape-walk.js';
import { ILL_FORMED_MESSAGE, WELL_FORMED_KEYWORD } from './well-formed.js';
import { FLAG_NAMES } from './vocabulary.js';
import { describeJsonType as describeType } from '../common/json-type-names.js';

// Every string in the schema is `wellFormed` (see well-formed.ts); free JSON is checked by validate-hooks.ts.
const STRING = { type: 'string', wellFormed: true };
/**
 * A string that the semantic checks hold to an ASCII grammar or a closed vocabulary (ids, auth
 * types, hook actions and event types, match-rule types, HTTP methods), which refuses a lone
 * surrogate already: not checked twice (one error per value, as validate.ts promises), and not in
 * the bulk of a large policy.
 */
const GRAMMAR_STRING = { type: 'string' };
const BOOLEAN = { type: 'boolean' };
const INTEGER = { type: 'integer' };
/**
 * Retries of one hook consultation: a running consultation holds a pool slot until its last
 * attempt, so a huge count against a dead service would hold slots for good.
 */
const MAX_RETRY_ATTEMPTS = 100;
const HEADERS = { type: 'object', additionalProperties: STRING };
const JSON_OBJECT = { type: 'object' };

const HOOK_BODY_PROPERTIES = {
  id: STRING,
  matchRules: {
    type: 'array',
    items: { type: 'object', properties: { type: GRAMMAR_STRING, regex: STRING, invert: BOOLEAN } },
  },
  action: GRAMMAR_STRING,
  skipNextHooksInChain: BOOLEAN,
  RESTServiceURL: STRING,
  RESTServiceRequestMethod: GRAMMAR_STRING,
  RESTServiceRequestHeaders: HEADERS,
  // Timers in Node take at most 2^31 - 1 ms; a larger value fires after 1 ms, and every
  // consultation would fail at once (red team 8, F8). The configuration caps its numbers alike.
  RESTServiceRequestTimeoutMilliseconds: { type: 'integer', minimum: 1, maximum: MAX_TIMER_MS },
  RESTServiceRetryAttempts: { type: 'integer', minimum: 0, maximum: MAX_RETRY_ATTEMPTS },
  RESTServiceRetryWaitTimeMilliseconds: { type: 'integer', minimum: 0, maximum: MAX_TIMER_MS },
  RESTServiceAsync: BOOLEAN,
  RESTServiceAsyncResultHook: { $ref: '#/$defs/hookBody' },
  RESTServiceContingencyHook: { $ref: '#/$defs/hookBody' },
  responsePayload: {},
  responseSkipPayloadJSONSerialization: BOOLEAN,
  responseStatusCode: INTEGER,
  responseContentType: STRING,
  rejectionErrorCode: STRING,
  rejectionErrorMessage: STRING,
  injectJSONIntoRequest: JSON_OBJECT,
  injectHeadersIntoRequest: HEADERS,
  injectJSONIntoResponse: JSON_OBJECT,
  injectHeadersIntoResponse: HEADERS,
};

const NULLABLE_BOOLEAN = { type: ['boolean', 'null'] };

/**
 * JSON Schema of the *normalised* document (canonical keys, defaults filled in): JSON types,
 * integer-ness and simple bounds. Vocabulary, identifier grammar and cross-references are
 * semantic checks (validate.ts), because their messages must name the offending value.
 */
export const POLICY_SCHEMA: SchemaObject = {
  $defs: { hookBody: { type: 'object', properties: HOOK_BODY_PROPERTIES } },
  type: 'object',
  properties: {
    identificationStamp: { type: ['string', 'null'], wellFormed: true },
    flags: { type: 'object', properties: Object.fromEntries(FLAG_NAMES.map((name) => [name, BOOLEAN])) },
    managedRoomIds: { type: 'array', items: GRAMMAR_STRING },
    hooks: {
      type: 'array',
      items: { type: 'object', properties: { ...HOOK_BODY_PROPERTIES, eventType: GRAMMAR_STRING } },
    },
    users: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: GRAMMAR_STRING,
          active: BOOLEAN,
          authType: GRAMMAR_STRING,
          authCredential: STRING,
          displayName: STRING,
          avatarUri: STRING,
          joinedRooms: {
            type: 'array',
            items: { type: 'object', properties: { roomId: GRAMMAR_STRING, powerLevel: INTEGER } },
          },
          forbidRoomCreation: NULLABLE_BOOLEAN,
          forbidEncryptedRoomCreation: NULLABLE_BOOLEAN,
          forbidUnencryptedRoomCreation: NULLABLE_BOOLEAN,
          powerLevelsManaged: BOOLEAN,
        },
      },
    },
  },
};

// Compiled once from constant input (house rule 2 allows this at module scope).
const shapes = new ShapeCompiler(shapeMessage, [WELL_FORMED_KEYWORD]);
const checkDocument = shapes.compile(POLICY_SCHEMA);
const checkHookBody = shapes.compile({ $defs: POLICY_SCHEMA['$defs'], $ref: '#/$defs/hookBody' });

/**
 * Checks the JSON types of a normalised document against {@link POLICY_SCHEMA} and pushes one
 * error per mismatch (`/users/3/active: expected a boolean, got a string`) into `errors`, in the
 * order ajv reports them. Holds only a few ajv errors at a time, however many there are (see
 * `ShapeCompiler`).
 */
export function checkPolicyShape(document: unknown, errors: IssueSink): void {
  checkDocument(document, errors);
}

/** {@link checkPolicyShape} for a single normalised hook body without event type (a REST-returned hook). */
export function checkHookBodyShape(hook: unknown, errors: IssueSink): void {
  checkHookBody(hook, errors);
}

/** The message of an ajv error about `value`; it names the value's kind, never its content. */
export function shapeMessage(error: ErrorObject, value: unknown): string {
  if (error.keyword === 'type') {
    const expected = ([] as string[]).concat(error.params['type'] as string | string[]);
    return `expected ${expected.map(describeType).join(' or ')}, got ${describeValue(value)}`;
  }
  if (error.keyword === 'minimum') return `must be at least ${String(error.params['limit'])}`;
  if (error.keyword === 'maximum') return `must be at most ${String(error.params['limit'])}`;
  if (error.keyword === WELL_FORMED_KEYWORD.keyword) return ILL_FORMED_MESSAGE;
  return error.message ?? 'is invalid';
}

/** How a JSON value is named in messages (its kind, never its content: it may be a secret). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a non-integer number';
  return describeType(typeof value);
}
