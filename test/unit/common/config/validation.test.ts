import t from 'tap';
import { parseConfigObject } from '../../../../src/common/config/index.js';
import { applyChanges, readFixtureRows, readRepoText, type ChangeRow } from '../../../fixtures/config/fixture-files.js';

const base: unknown = JSON.parse(readRepoText('config/matrix-corporal-3.config.json'));

t.test('the unchanged base configuration is valid', async (t) => {
  const result = parseConfigObject(base);
  t.same(result.ok ? [] : result.errors, []);
});

for (const table of ['validation-errors.json', 'type-mismatches.json']) {
  t.test(table, async (t) => {
    for (const row of readFixtureRows<ChangeRow>(table)) {
      const result = parseConfigObject(applyChanges(base, row));
      t.same(result.ok ? [] : result.errors, row.errors, row.name);
      t.equal(result.ok, row.errors.length === 0, `${row.name}: ok`);
    }
  });
}
