import { getHeapStatistics } from 'node:v8';
import type { PolicyIssue } from './issues.js';
import { POLICY_SCHEMA } from './schema.js';

/*
 * Heap a policy takes while it is loaded (parsed, validated, compiled, hashed, encoded), per thing
 * counted in its text. Calibrated on 2026-11-27 against the peak heap (`--trace-gc`) of a real
 * `PolicyStore.set`: 1 M minimal users (76 M characters) peaked at 815 MB; 200 k users with 5 rooms
 * each (77 M characters) at 363 MB; and the shapes verification round 13 built to pass the first
 * estimate (F1): 3 M distinct keys in one object 483 MB, 2 M one-key objects 586 MB, 40 M
 * two-byte characters 313 MB, 8 M numbers 230 MB, 12 M escapes behind a trailing comma 87 MB; and
 * round 13b's: 10 k hooks 31–36 MB, hook regexes about 50 B a character once translated. Each
 * figure below keeps the estimate above all of them (each also loaded in a heap of twice its
 * estimate, the smallest the guard accepts); realistic policies are over-estimated by 1.2–1.9 ×.
 */
/** What each counted thing costs, in bytes; the counts come from {@link estimatePolicyHeapBytes}'s pass. */
const BYTES_PER: Readonly<Record<keyof Counts, number>> = {
  /** A user: an object directly in a top-level list other than `hooks`. */
  entries: 600,
  /** A hook: an object directly in the top-level `hooks` list (compiled rules, headers, payloads). */
  hooks: 4096,
  /** A character of a match-rule regex (a string under the key `regex`): its translation to a JavaScript pattern. */
  regexCharacters: 64,
  /** Any other object or array. */
  containers: 96,
  /** A member under a key of the policy's own vocabulary (its name is shared by every object). */
  knownMembers: 24,
  /** A member under any other key: the key is a string of its own, the object a dictionary. */
  otherMembers: 160,
  /** An element or member separator: a slot, a small value. */
  separators: 24,
};
/** A character, in text of one-byte characters (U+0000–U+00FF) only: the text, the values, the hash's copy. */
const BYTES_PER_CHARACTER = 4;
/** A character, in text with any other: every copy takes two bytes a character. */
const BYTES_PER_WIDE_CHARACTER = 9;

/** What the pass counts: structure outside strings, and the characters of regexes. */
interface Counts {
  entries: number;
  hooks: number;
  regexCharacters: number;
  containers: number;
  knownMembers: number;
  otherMembers: number;
  separators: number;
}

/**
 * The share of the heap one policy may need. The policy in force stays in memory until the new one
 * replaces it, and the rest of the process (the reconciler's observation, the HTTP API) needs room
 * too, so one policy gets half.
 */
const HEAP_SHARE = 0.5;

/** Every key the policy schema names (users', hooks', flags' fields…), at any depth, and schema 1's `joinedRoomIds`. */
const KNOWN_KEYS: ReadonlySet<string> = new Set([...propertyNames(POLICY_SCHEMA), 'joinedRoomIds']);
const LONGEST_KNOWN_KEY = Math.max(...[...KNOWN_KEYS].map((key) => key.length));

/**
 * About how many bytes of heap loading `text` takes, from one linear pass that counts objects and
 * arrays (by depth; users and hooks apart), members (by whether their key is one of the policy's),
 * separators, characters, those of match-rule regexes, and whether any character is above U+00FF; not exact, but above what
 * every measured policy took. Linear in the text; allocates only the short keys it compares. Any
 * text (also invalid JSON) gets an estimate.
 */
export function estimatePolicyHeapBytes(text: string): number {
  const counts: Counts = { entries: 0, hooks: 0, regexCharacters: 0, containers: 0, knownMembers: 0, otherMembers: 0, separators: 0 };
  let depth = 0;
  let index = 0;
  // The last key of the policy vocabulary seen (null after any other key), and the top-level key
  // of the list being read: they tell regexes and hooks apart.
  let lastKey: string | null = null;
  let topLevelKey: string | null = null;
  let listKey: string | null = null;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      const end = endOfString(text, index + 1);
      if (isFollowedByColon(text, end)) {
        const keyLength = end - index - 2;
        const key = keyLength <= LONGEST_KNOWN_KEY ? text.slice(index + 1, end - 1) : null;
        const known = key !== null && KNOWN_KEYS.has(key);
        counts[known ? 'knownMembers' : 'otherMembers'] += 1;
        lastKey = known ? key : null;
        if (depth === 1) topLevelKey = lastKey;
      } else if (lastKey === 'regex') {
        counts.regexCharacters += end - index - 2;
      }
      index = end;
      continue;
    }
    if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      depth += 1;
      if (depth === 2) listKey = topLevelKey;
      if (depth === 3 && code === 0x7b) counts[listKey === 'hooks' ? 'hooks' : 'entries'] += 1;
      else counts.containers += 1;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      depth -= 1;
    } else if (code === 0x2c /* , */) {
      counts.separators += 1;
    }
    index += 1;
  }
  const perCharacter = WIDE_CHARACTER.test(text) ? BYTES_PER_WIDE_CHARACTER : BYTES_PER_CHARACTER;
  let bytes = text.length * perCharacter;
  for (const kind of Object.keys(counts) as (keyof Counts)[]) bytes += counts[kind] * BYTES_PER[kind];
  return bytes;
}

/** A character that makes a string two bytes a character. */
const WIDE_CHARACTER = /[^\u0000-\u00ff]/;

/** Whether the next character after `from` that is not JSON whitespace is `:`. */
function isFollowedByColon(text: string, from: number): boolean {
  let index = from;
  for (;;) {
    const code = text.charCodeAt(index);
    if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) index += 1;
    else return code === 0x3a;
  }
}

/** The property names of a JSON Schema, recursively (`properties`, `items`, `$defs`, `additionalProperties`). */
function propertyNames(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const names: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'properties' && typeof value === 'object' && value !== null) {
      for (const [name, sub] of Object.entries(value)) names.push(name, ...propertyNames(sub));
    } else if (typeof value === 'object' && value !== null) {
      names.push(...propertyNames(value));
    }
  }
  return names;
}

/** The index just past the `"` closing the string whose contents start at `from` (or the end of the text). */
function endOfString(text: string, from: number): number {
  let quote = text.indexOf('"', from);
  while (quote !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c /* \ */) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}

/** The most heap this process may use (`--max-old-space-size`, or V8's default for the machine). */
export function processHeapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}

/**
 * Null when loading `text` fits in `heapLimitBytes` (see `HEAP_SHARE`), else the error to refuse
 * it with, before parsing: a policy whose parsed form exhausts the heap would kill the process
 * (V8 aborts; it cannot be caught), and with a file or HTTP provider the restarted process would
 * load it again and die again. Refused, the policy in force stays, and the message says what to do.
 */
export function policyHeapProblem(text: string, heapLimitBytes: number): PolicyIssue | null {
  const needed = estimatePolicyHeapBytes(text);
  const allowed = heapLimitBytes * HEAP_SHARE;
  if (needed <= allowed) return null;
  const mib = (bytes: number): number => Math.ceil(bytes / (1024 * 1024));
  return {
    pointer: '',
    message: `the policy would need about ${mib(needed)} MiB of memory to load, more than ${mib(allowed)} MiB `
      + `(half of this process' ${mib(heapLimitBytes)} MiB heap); give Corporal a larger heap `
      + `(NODE_OPTIONS=--max-old-space-size=${Math.max(mib(needed / HEAP_SHARE), 1)} or more) or check what produced so large a policy`,
  };
}
