import t from 'tap';
import { firstQueryValue, queryValues, redactQuery } from '../../../src/gateway/query.js';

/**
 * Expected values produced by Twisted's own `parse_qs(query, 1)` (Twisted as installed with
 * Synapse 1.163.2), as hex bytes: the parser Synapse reads `access_token`, `user_id` and `timeout` with.
 */
const TWISTED: ReadonlyArray<{ query: string; access_token: string[] | null; user_id: string[] | null }> = [
  { query: 'access_token=abc', access_token: ['616263'], user_id: null },
  { query: 'a=1&access_token=abc&access_token=def', access_token: ['616263', '646566'], user_id: null },
  { query: 'a=1;access_token=abc', access_token: ['616263'], user_id: null },
  { query: '%61ccess_token=abc', access_token: ['616263'], user_id: null },
  { query: 'access%5Ftoken=abc', access_token: ['616263'], user_id: null },
  { query: 'access_token=a+b%2Bc', access_token: ['6120622b63'], user_id: null },
  { query: 'access_token=', access_token: [''], user_id: null },
  { query: 'access_token', access_token: null, user_id: null },
  { query: 'access_token&access_token=x', access_token: ['78'], user_id: null },
  { query: '=x&access_token=%zz%4', access_token: ['257a7a2534'], user_id: null },
  { query: 'user_id=%40%C3%A9%3Alocalhost', access_token: null, user_id: ['40c3a93a6c6f63616c686f7374'] },
  { query: 'timeout=30000&since=s1_2', access_token: null, user_id: null },
  { query: 'access+token=x', access_token: null, user_id: null },
  { query: 'access_token=%E2%82%AC', access_token: ['e282ac'], user_id: null },
  { query: '&&access_token=z&&', access_token: ['7a'], user_id: null },
  { query: 'access_token=a=b', access_token: ['613d62'], user_id: null },
];

const hex = (values: Uint8Array[] | null): string[] | null => values?.map((value) => Buffer.from(value).toString('hex')) ?? null;

t.test('queryValues reads keys and values exactly as Twisted does', async (t) => {
  for (const row of TWISTED) {
    t.same(hex(queryValues(row.query, 'access_token')), row.access_token, `access_token in ${row.query}`);
    t.same(hex(queryValues(row.query, 'user_id')), row.user_id, `user_id in ${row.query}`);
  }
  t.equal(queryValues('', 'access_token'), null);
});

t.test('firstQueryValue gives the first value as latin1 text', async (t) => {
  t.equal(firstQueryValue('timeout=1&timeout=2', 'timeout'), '1');
  t.equal(firstQueryValue('x=%C3%A9', 'x'), '\u00c3\u00a9');
  t.equal(firstQueryValue('x=1', 'timeout'), null);
});

t.test('redactQuery replaces the values of secret keys only', async (t) => {
  const secrets = new Set(['access_token', 'token']);
  t.equal(redactQuery('a=1&access_token=s3cret&b=2', secrets), 'a=1&access_token=[redacted]&b=2');
  t.equal(redactQuery('%61ccess_token=s3cret;token=t', secrets), '%61ccess_token=[redacted];token=[redacted]');
  t.equal(redactQuery('since=s1&timeout=3', secrets), 'since=s1&timeout=3');
  t.equal(redactQuery('access_token', secrets), 'access_token', 'no value, nothing to hide (Twisted ignores it too)');
  t.equal(redactQuery('', secrets), '');
  t.equal(redactQuery('Access_Token=s3cret&TOKEN=t&%41CCESS_token=u', secrets), 'Access_Token=[redacted]&TOKEN=[redacted]&%41CCESS_token=[redacted]', 'in any case (day-2 review 19, #8)');
});
