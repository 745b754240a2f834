import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// The catalogue docs/error-codes.md against the codes in src/: every `CORP_ERR_*` code of the
// source has a row (its first cell), and every code the page names still exists.

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DOC_PATH = join(ROOT, 'docs', 'error-codes.md');

/** A complete code. */
const CODE = /CORP_ERR_[A-Z0-9_]+/g;
/** The bare prefix, not followed by the rest of a code: a wildcard in prose, or a code built at run time. */
const PREFIX = /CORP_ERR_(?![A-Z0-9_])/g;

/**
 * The places where the bare prefix is used on purpose, none of which builds a code: the test that
 * a failure carries a Corporal code (`codeOf`, whose fallback `CORP_ERR_INTERNAL` is in the table).
 * Any other use (`CORP_ERR_${…}`, `'CORP_ERR_' + …`) fails below: list the codes it can build in
 * the catalogue and add it here with a note.
 */
const PREFIX_USES_ALLOWED: ReadonlyArray<{ file: string; text: string }> = [
  { file: 'src/control/loop/apply-plan.ts', text: "code.startsWith('CORP_ERR_')" },
];

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.c?ts$/.test(entry.name)) files.push(path);
  }
  return files;
}

interface Source { file: string; text: string }

const sources: Source[] = sourceFiles(join(ROOT, 'src')).map((path) => ({ file: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

function codesIn(text: string): Set<string> {
  return new Set(text.match(CODE) ?? []);
}

const srcCodes = new Set(sources.flatMap(({ text }) => [...codesIn(text)]));
const doc = readFileSync(DOC_PATH, 'utf8');

/** Codes in the first cell of a table row: the codes the page documents. */
function listedCodes(markdown: string): Set<string> {
  const listed = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const code of codesIn(firstCell)) listed.add(code);
  }
  return listed;
}

t.test('the source scan finds the codes (a wrong root would pass every check below)', async (t) => {
  t.ok(sources.length > 100, `${sources.length} source files`);
  t.ok(srcCodes.has('CORP_ERR_INTERNAL'), 'the fallback code');
  t.ok(srcCodes.has('CORP_ERR_UPSTREAM_UNREACHABLE'), 'a gateway code');
  t.ok(srcCodes.size >= 40, `${srcCodes.size} codes`);
});

t.test('every code in src/ has a row in docs/error-codes.md', async (t) => {
  const listed = listedCodes(doc);
  const missing = [...srcCodes].filter((code) => !listed.has(code)).sort();
  t.same(missing, [], `codes without a row in docs/error-codes.md: ${missing.join(', ')}`);
});

t.test('every code docs/error-codes.md names exists in src/', async (t) => {
  const stale = [...codesIn(doc)].filter((code) => !srcCodes.has(code)).sort();
  t.same(stale, [], `codes in docs/error-codes.md that src/ no longer has: ${stale.join(', ')}`);
});

t.test('no code is built from the bare CORP_ERR_ prefix outside the known places', async (t) => {
  const unexpected: string[] = [];
  const seen = new Set<string>();
  for (const { file, text } of sources) {
    for (const match of text.matchAll(PREFIX)) {
      const at = match.index;
      // `CORP_ERR_*` and `CORP_ERR_…` are wildcards in comments and messages, not codes.
      if (text[at + match[0].length] === '*' || text[at + match[0].length] === '…') continue;
      const allowed = PREFIX_USES_ALLOWED.find((use) => use.file === file && text.slice(Math.max(0, at - 40), at + 40).includes(use.text));
      if (allowed !== undefined) {
        seen.add(`${allowed.file}: ${allowed.text}`);
        continue;
      }
      const line = text.slice(0, at).split('\n').length;
      unexpected.push(`${file}:${line}: ${text.split('\n')[line - 1]?.trim() ?? ''}`);
    }
  }
  t.same(unexpected, [], `uses of the bare prefix (document the codes they build, then allow them here):\n${unexpected.join('\n')}`);
  // An allowance whose code is gone is dropped, so that it cannot excuse a later use.
  t.same([...seen].sort(), PREFIX_USES_ALLOWED.map((use) => `${use.file}: ${use.text}`).sort(), 'every allowance is still used');
});

t.test('the checks fail when they should', async (t) => {
  const withoutRow = doc.split('\n').filter((line) => !line.startsWith('| `CORP_ERR_NO_POLICY`')).join('\n');
  t.notOk(listedCodes(withoutRow).has('CORP_ERR_NO_POLICY'), 'a removed row is missing');
  t.notOk(listedCodes('See `CORP_ERR_NO_POLICY` in prose.\n').has('CORP_ERR_NO_POLICY'), 'prose is not a row');
  t.notOk(srcCodes.has('CORP_ERR_NOT_A_CODE'), 'a made-up code is stale');
  t.equal([...'`CORP_ERR_${kind}`'.matchAll(PREFIX)].length, 1, 'a template with the prefix is seen');
});
