import t from 'tap';
import { ownUserId, qualifyUserId } from '../../../../src/gateway/identity/managed-user.js';

t.test('a typed user id is qualified as Synapse qualifies it, and kept only on our domain (ignoring case)', async (t) => {
  t.equal(qualifyUserId('alice', 'example.com'), '@alice:example.com');
  t.equal(qualifyUserId('@alice:elsewhere.org', 'example.com'), '@alice:elsewhere.org', 'a full id stays as typed');
  t.equal(ownUserId('Alice', 'example.com'), '@Alice:example.com');
  t.equal(ownUserId('@alice:EXAMPLE.com', 'example.com'), '@alice:EXAMPLE.com');
  t.equal(ownUserId('@alice:elsewhere.org', 'example.com'), null);
  t.equal(ownUserId('@alice:notexample.com', 'example.com'), null, 'the domain after the colon, not a suffix of it');
});
