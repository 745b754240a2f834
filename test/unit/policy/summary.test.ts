import t from 'tap';
import { compilePolicy } from '../../../src/policy/compile.js';
import { loadPolicyText } from '../../../src/policy/load.js';
import { formatPolicySummary, summarisePolicy } from '../../../src/policy/summary.js';
import { readPolicyFixtureText } from '../../fixtures/policy/fixture-files.js';

function summaryOf(fixture: string): ReturnType<typeof summarisePolicy> {
  const loaded = loadPolicyText(readPolicyFixtureText(fixture), { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return summarisePolicy(compilePolicy(loaded.document, { generation: 3, hash: 'h', loadedAt: 0, source: 'test' }));
}

t.test('the base policy summarised', async (t) => {
  t.same(summaryOf('base-policy.json'), {
    generation: 3,
    hash: 'h',
    users: {
      total: 2,
      active: 1,
      inactive: 1,
      byAuthType: { plain: 0, passthrough: 0, md5: 0, sha1: 0, sha256: 1, sha512: 0, bcrypt: 1, rest: 0 },
      powerLevelsUnmanaged: 0,
    },
    managedRooms: 2,
    roomMemberships: 2,
    hooks: {
      total: 6,
      byEventType: {
        beforeAnyRequest: 1,
        beforeAuthenticatedRequest: 1,
        beforeAuthenticatedPolicyCheckedRequest: 1,
        beforeUnauthenticatedRequest: 0,
        afterAnyRequest: 1,
        afterAuthenticatedRequest: 1,
        afterAuthenticatedPolicyCheckedRequest: 0,
        afterUnauthenticatedRequest: 1,
      },
      byAction: { reject: 1, respond: 1, 'pass.modifiedRequest': 1, 'consult.RESTServiceURL': 1, 'pass.modifiedResponse': 1, 'pass.unmodified': 1 },
    },
    flags: {
      allowCustomUserDisplayNames: false,
      allowCustomUserAvatars: false,
      allowCustomPassthroughUserPasswords: false,
      allowUnauthenticatedPasswordResets: false,
      forbidRoomCreation: false,
      forbidEncryptedRoomCreation: true,
      forbidUnencryptedRoomCreation: false,
      allow3pidLogin: false,
      forbid3pidChanges: false,
    },
  });
});

t.test('the README example formatted for the CLI (no credentials in the output)', async (t) => {
  const lines = formatPolicySummary(summaryOf('readme-policy.json'));
  t.same(lines.slice(1), [
    'users: 3 (3 active, 0 inactive)',
    'users by auth type: plain 1, sha1 1, rest 1',
    'users without managed power levels (schema 1): 3',
    'managed rooms: 2; required memberships: 5',
    'hooks: 2 (beforeAnyRequest 1, beforeAuthenticatedPolicyCheckedRequest 1)',
    'flags on: none',
  ]);
  t.equal(lines[0], 'policy hash h');
  t.notMatch(lines.join('\n'), /PaSSw0rD|a94a8fe5/);
});
