import t from 'tap';
import { schedulesDelayedEventFromBody } from '../../../../src/gateway/checks/delayed-events.js';
import { routeRequest } from '../../../../src/gateway/router/index.js';

/** Red team 23, F1: the requests whose body the gateway bounds because they schedule a delayed event. */

function bounded(method: string, path: string, query: string): boolean {
  const decision = routeRequest(method, path, query);
  if (decision.kind !== 'route') throw new Error(`${path} is not routed`);
  return schedulesDelayedEventFromBody(decision.match.id, method, query);
}

const room = '/_matrix/client/v3/rooms/!r:localhost';
const delay = 'org.matrix.msc4140.delay=1000';

t.test('event sends and state writes with a delay are bounded, whatever the type', async (t) => {
  t.ok(bounded('PUT', `${room}/send/m.room.message/t1`, delay));
  t.ok(bounded('POST', `${room}/send/org.example.pad`, delay));
  t.ok(bounded('put', `/_matrix/client/r0/rooms/!r:localhost/send/m.room.message/t1`, delay), 'lower-case method, r0 prefix');
  t.ok(bounded('PUT', `${room}/state/org.example.pad/k`, delay));
  t.ok(bounded('PUT', `${room}/state/m.room.power_levels/other`, delay), 'a power-levels event under another state key');
  t.ok(bounded('PUT', `${room}/send/m.room.message/t1`, 'org.matrix.msc4140.%64elay=5'), 'an encoded key, as Synapse reads it');
  t.ok(bounded('PUT', `${room}/send/m.room.message/t1`, 'a=1;org.matrix.msc4140.delay=5'), 'a `;` separator');
});

t.test('other requests are not', async (t) => {
  t.notOk(bounded('PUT', `${room}/send/m.room.message/t1`, ''), 'no delay');
  t.notOk(bounded('GET', `${room}/state/org.example.pad/k`, delay), 'a state read');
  t.notOk(bounded('POST', `${room}/invite`, delay), 'not an event send');
  t.notOk(bounded('POST', '/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1/restart', delay), 'delayed-event management');
});
