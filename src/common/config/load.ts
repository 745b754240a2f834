import { readBoundedFile } from '../bounded-file.js';
import { describeError } from '../errors.js';
import { decodeConfigTree } from './decode.js';
import { applyConfigDefaults } from './defaults.js';
import { isPathWithin, type ConfigIssue, type ConfigResult } from './issues.js';
import { jsonTreeOfValue } from './json-from-value.js';
import { parseJsonTree } from './json-parse.js';
import type { JsonNode } from './json-tree.js';
import { checkConfigRules, RULE_INPUTS } from './rules.js';
import { checkConfigTypes } from './type-check.js';

/** Configuration files larger than this are refused unread (a real one is a few KiB). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * Loads a configuration from JSON text, with matrix-corporal 3.x semantics (see decode.ts): case-
 * insensitive keys, last duplicate wins, unknown keys warned about and ignored, Go zero values for
 * missing keys, then defaults and validation. A syntax error is one issue naming `line:column`;
 * text after the first JSON value is ignored with a warning, as Go's `json.Decoder` ignores it.
 */
export function parseConfigText(text: string): ConfigResult {
  const parsed = parseJsonTree(text);
  if (!parsed.ok) {
    const { line, column } = parsed.at;
    return { ok: false, errors: [{ path: '', message: `Invalid JSON at ${line}:${column}: ${parsed.message}` }], warnings: [] };
  }
  const warnings: ConfigIssue[] = [];
  if (parsed.trailingAt !== null) {
    const { line, column } = parsed.trailingAt;
    warnings.push({ path: '', message: `The text after the configuration object (from ${line}:${column}) is ignored` });
  }
  return decodeConfig(parsed.node, [], warnings);
}

/**
 * Loads a configuration from an already-parsed value (for example `JSON.parse` output or an object
 * built by a test), with exactly the rules of {@link parseConfigText}.
 */
export function parseConfigObject(raw: unknown): ConfigResult {
  const { node, errors } = jsonTreeOfValue(raw);
  return decodeConfig(node, errors, []);
}

/**
 * Reads and loads a configuration file (at most {@link MAX_CONFIG_FILE_BYTES}, UTF-8). Never throws:
 * an unreadable, oversized or non-regular file is reported as an issue with path `""`.
 */
export async function loadConfigFile(path: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readBoundedFile(path, MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `Cannot read the configuration file: ${describeError(err)}` }], warnings: [] };
  }
  return parseConfigText(text);
}

function decodeConfig(node: JsonNode, earlierErrors: ConfigIssue[], warnings: ConfigIssue[]): ConfigResult {
  const decoded = decodeConfigTree(node);
  const typed = checkConfigTypes(decoded.value);
  const config = applyConfigDefaults(typed.value);
  const rules = checkConfigRules(config);
  // A value that failed to decode already has an error; rules about its zero value would only add noise.
  const failedPaths = [...earlierErrors, ...decoded.errors].map((issue) => issue.path).concat(typed.removedPaths);
  const isSound = (issue: ConfigIssue): boolean => [issue.path, ...(RULE_INPUTS.get(issue.path) ?? [])]
    .every((read) => !failedPaths.some((failed) => isPathWithin(read, failed)));
  const errors = [...earlierErrors, ...decoded.errors, ...typed.errors, ...rules.errors.filter(isSound)];
  const allWarnings = [...warnings, ...decoded.warnings, ...rules.warnings.filter(isSound)];
  if (errors.length > 0) return { ok: false, errors, warnings: allWarnings };
  return { ok: true, config, warnings: allWarnings };
}
