import t from 'tap';
import { pinnedJoinTarget } from '../../../../src/gateway/checks/pinned-join.js';

const room = { roomId: '!abc:hs.example', servers: ['hs.example', 'other.example'] };
const VIA = 'via=hs.example&via=other.example';

t.test('the alias segment becomes the checked room id, the directory servers become via', (t) => {
  const rows: Array<[path: string, query: string, prefix: string, expected: string]> = [
    ['/_matrix/client/v3/join/%23trap%3Ahs.example', '', 'v3', `/_matrix/client/v3/join/!abc%3Ahs.example?${VIA}`],
    ['/_matrix/client/r0/join/#trap:hs.example/', '', 'r0', `/_matrix/client/r0/join/!abc%3Ahs.example/?${VIA}`],
    ['/_matrix/client/v3/join/%23trap%3Ahs.example/txn-1', '', 'v3', `/_matrix/client/v3/join/!abc%3Ahs.example/txn-1?${VIA}`],
    ['/_matrix/client/api/v1/join/%23t%3Ahs', 'server_name=x.example', 'api/v1', `/_matrix/client/api/v1/join/!abc%3Ahs.example?server_name=x.example&${VIA}`],
    ['/_matrix/client/unstable/org.example/knock/%23t%3Ahs', 'via=y.example', 'unstable/org.example', `/_matrix/client/unstable/org.example/knock/!abc%3Ahs.example?via=y.example&${VIA}`],
  ];
  for (const [path, query, prefix, expected] of rows) t.equal(pinnedJoinTarget(path, query, prefix, room), expected, path);
  t.equal(pinnedJoinTarget('/_matrix/client/v3/join/%23t%3Ahs', '', 'v3', { roomId: '!r:hs', servers: [] }), '/_matrix/client/v3/join/!r%3Ahs', 'no servers, no query');
  t.end();
});
