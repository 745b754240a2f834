import t from 'tap';
import { translateRe2 } from '../../../src/policy/regex/re2.js';
import { readPolicyFixture } from '../../fixtures/policy/fixture-files.js';

interface Row {
  pattern: string;
  source?: string;
  flags?: string;
  matches?: string[];
  nonMatches?: string[];
  warnings?: string[];
  error?: string;
  errorStartsWith?: string;
}

/** JSON.stringify, with U+2028/U+2029 escaped too: raw line separators would split a TAP line. */
function show(text: string): string {
  return JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

for (const row of readPolicyFixture<{ rows: Row[] }>('regex-dialect.json').rows) {
  t.test(show(row.pattern), async (t) => {
    const result = translateRe2(row.pattern);
    if (row.error !== undefined || row.errorStartsWith !== undefined) {
      t.equal(result.ok, false, 'refused');
      const message = result.ok ? '' : result.message;
      if (row.error !== undefined) t.equal(message, row.error);
      else t.ok(message.startsWith(row.errorStartsWith ?? ''), message);
      return;
    }
    if (!result.ok) {
      t.fail(result.message);
      return;
    }
    if (row.source !== undefined) t.equal(result.regex.source, row.source, 'source');
    if (row.flags !== undefined) t.equal(result.regex.flags, row.flags, 'flags');
    t.same(result.warnings, row.warnings ?? [], 'warnings');
    const regex = new RegExp(result.regex.source, result.regex.flags);
    for (const subject of row.matches ?? []) t.ok(regex.test(subject), `matches ${show(subject)}`);
    for (const subject of row.nonMatches ?? []) t.notOk(regex.test(subject), `does not match ${show(subject)}`);
  });
}
