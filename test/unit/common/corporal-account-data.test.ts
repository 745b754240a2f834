import t from 'tap';
import { CORPORAL_ACCOUNT_DATA_PREFIXES, isCorporalAccountDataType } from '../../../src/common/corporal-account-data.js';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY } from '../../../src/control/synapse/account-data-keys.js';

t.test("every record the reconciler trusts is in a namespace the gateway keeps clients out of", (t) => {
  t.ok(isCorporalAccountDataType(PASSWORD_MARKER_KEY), PASSWORD_MARKER_KEY);
  t.ok(isCorporalAccountDataType(AVATAR_SOURCE_HASHES_KEY), AVATAR_SOURCE_HASHES_KEY);
  t.end();
});

t.test('the namespaces are prefixes ending in a dot, compared case-sensitively', (t) => {
  for (const prefix of CORPORAL_ACCOUNT_DATA_PREFIXES) t.ok(prefix.endsWith('.'), prefix);
  for (const type of ['m.direct', 'io.corporal', 'IO.corporal.password', 'org.io.corporal.password', 'com.devture.matrix.corporalx', '']) {
    t.notOk(isCorporalAccountDataType(type), JSON.stringify(type));
  }
  t.ok(isCorporalAccountDataType('io.corporal.future_record'));
  t.end();
});
