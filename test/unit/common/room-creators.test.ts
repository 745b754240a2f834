import t from 'tap';
import { creatorsHaveUnlimitedPower, implicitCreator, unlimitedCreators } from '../../../src/common/room-creators.js';

/** Synapse 1.163.2's KNOWN_ROOM_VERSIONS: [version, implicit_room_creator, msc4289_creator_power_enabled]. */
const KNOWN: Array<[string, boolean, boolean]> = [
  ...['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'org.matrix.msc3757.10'].map((v): [string, boolean, boolean] => [v, false, false]),
  ['11', true, false], ['org.matrix.msc3757.11', true, false], ['12', true, true], ['org.matrix.hydra.11', true, true],
];

t.test('the creator rules of every room version Synapse knows', async (t) => {
  for (const [version, senderIsCreator, unlimited] of KNOWN) {
    const create = { sender: '@sender:hs', content: { room_version: version, creator: '@old-style:hs', additional_creators: ['@co:hs'] } };
    t.equal(implicitCreator(create), senderIsCreator ? '@sender:hs' : '@old-style:hs', `${version}: implicit creator`);
    t.equal(creatorsHaveUnlimitedPower(version), unlimited, `${version}: unlimited power`);
    t.same([...unlimitedCreators(create)], unlimited ? ['@sender:hs', '@co:hs'] : [], `${version}: creators`);
  }
});

t.test('no room_version is version 1; later numbers keep v12\'s rules; other named versions read as 1', async (t) => {
  t.equal(implicitCreator({ sender: '@s:hs', content: { creator: '@c:hs' } }), '@c:hs');
  t.equal(implicitCreator({ sender: '@s:hs', content: { room_version: '13' } }), '@s:hs');
  t.equal(creatorsHaveUnlimitedPower('13'), true);
  t.equal(implicitCreator({ sender: '@s:hs', content: { room_version: 'org.example.x' } }), null, 'no content.creator: nobody');
  t.equal(implicitCreator({ sender: '', content: { room_version: '11' } }), null);
  t.same([...unlimitedCreators({ sender: '@s:hs', content: null })], []);
});
