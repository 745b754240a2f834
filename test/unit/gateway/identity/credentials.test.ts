import t from 'tap';
import { CREDENTIAL_ERRORS, extractCredentials, type Credentials } from '../../../../src/gateway/identity/credentials.js';

/** What Synapse's `get_access_token_from_request` decides, per (Authorization headers, query). */
const ROWS: ReadonlyArray<{ name: string; headers: string[]; query: string; expect: Credentials | { kind: 'token'; token: string; masquerade: string | null } }> = [
  { name: 'no credentials', headers: [], query: '', expect: { kind: 'none' } },
  { name: 'Bearer header', headers: ['Bearer abc'], query: '', expect: { kind: 'token', token: 'abc', masquerade: null } },
  { name: 'query token', headers: [], query: 'access_token=abc', expect: { kind: 'token', token: 'abc', masquerade: null } },
  { name: 'first of two query tokens', headers: [], query: 'access_token=abc&access_token=def', expect: { kind: 'token', token: 'abc', masquerade: null } },
  { name: 'empty query token is a token', headers: [], query: 'access_token=', expect: { kind: 'token', token: '', masquerade: null } },
  { name: 'percent-encoded query key', headers: [], query: '%61ccess_token=abc', expect: { kind: 'token', token: 'abc', masquerade: null } },
  { name: 'header and query', headers: ['Bearer abc'], query: 'access_token=abc', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.mixed } },
  { name: 'header and empty query token', headers: ['Bearer abc'], query: 'access_token=', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.mixed } },
  { name: 'header and key-only query item (Twisted skips it)', headers: ['Bearer abc'], query: 'access_token', expect: { kind: 'token', token: 'abc', masquerade: null } },
  { name: 'two headers', headers: ['Bearer abc', 'Bearer abc'], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.tooManyHeaders } },
  { name: 'lower-case scheme', headers: ['bearer abc'], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.invalidHeader } },
  { name: 'two spaces', headers: ['Bearer  abc'], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.invalidHeader } },
  { name: 'scheme only', headers: ['Bearer'], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.invalidHeader } },
  { name: 'empty header value', headers: [''], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.invalidHeader } },
  { name: 'Basic scheme', headers: ['Basic Zm9vOmJhcg=='], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.invalidHeader } },
  { name: 'empty Bearer token', headers: ['Bearer '], query: '', expect: { kind: 'token', token: '', masquerade: null } },
  { name: 'non-ASCII header token', headers: ['Bearer ab\u00e9'], query: '', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.notAscii } },
  { name: 'non-ASCII query token', headers: [], query: 'access_token=%C3%A9', expect: { kind: 'invalid', message: CREDENTIAL_ERRORS.notAscii } },
  { name: 'appservice masquerade', headers: ['Bearer as'], query: 'user_id=%40bot%3Ahs&user_id=%40other%3Ahs', expect: { kind: 'token', token: 'as', masquerade: '@bot:hs' } },
  { name: 'user_id without a token', headers: [], query: 'user_id=%40bot%3Ahs', expect: { kind: 'none' } },
];

t.test('credentials are extracted exactly as Synapse extracts them', async (t) => {
  for (const row of ROWS) {
    const got = extractCredentials(row.headers, row.query);
    if (row.expect.kind === 'token' && 'masquerade' in row.expect) {
      const { token, masquerade } = row.expect;
      t.same(
        got.kind === 'token' ? { kind: 'token', token: got.token, masquerade: got.masqueradeAs && Buffer.from(got.masqueradeAs).toString('utf8') } : got,
        { kind: 'token', token, masquerade },
        row.name,
      );
    } else {
      t.same(got, row.expect, row.name);
    }
  }
});
