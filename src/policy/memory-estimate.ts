import { getHeapStatistics } from 'node:v8';
import type { PolicyIssue } from './issues.js';

/**
 * Heap held per JSON object or array while a policy is loaded. Measured through parse, validation
 * and compilation (2026-11-27): 190–440 B per container for realistic policies (users with rooms),
 * about 600 B per user for policies of minimal users, 70–150 B for empty containers that parsing
 * alone builds. 512 B stays above the realistic cases; for pathological text (`[],[],…`) it
 * over-estimates, which only refuses sooner what would be refused anyway.
 */
const BYTES_PER_CONTAINER = 512;
/** Heap per element of an array or member of an object (a slot, a small number: 8–16 B). */
const BYTES_PER_ELEMENT = 16;
/** Heap per character of text: the strings of the parsed value, and the text itself, held meanwhile. */
const BYTES_PER_CHARACTER = 2;

/**
 * The share of the heap one policy may need. The policy in force stays in memory until the new one
 * replaces it, and the rest of the process (the reconciler's observation, the HTTP API) needs room
 * too, so one policy gets half.
 */
const HEAP_SHARE = 0.5;

/**
 * About how many bytes of heap loading `text` takes (parsing, validating, compiling), from one
 * linear pass counting containers, elements and characters outside strings; not exact, but above
 * what the measured policies took. Linear in the text, allocates nothing; any text (also invalid
 * JSON) gets an estimate.
 */
export function estimatePolicyHeapBytes(text: string): number {
  let containers = 0;
  let separators = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      index = endOfString(text, index + 1);
      continue;
    }
    if (code === 0x7b /* { */ || code === 0x5b /* [ */) containers += 1;
    else if (code === 0x2c /* , */) separators += 1;
    index += 1;
  }
  return containers * BYTES_PER_CONTAINER + (containers + separators) * BYTES_PER_ELEMENT + text.length * BYTES_PER_CHARACTER;
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
