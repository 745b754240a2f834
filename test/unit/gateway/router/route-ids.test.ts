import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROUTE_IDS, ROUTE_ID_DOCS } from '../../../../src/gateway/router/route-ids.js';
import { CLIENT_ROUTE_SPECS } from '../../../../src/gateway/router/client-routes.js';
import { MEDIA_ROUTE_SPECS } from '../../../../src/gateway/router/media-routes.js';
import { loadRouteRows } from '../../../fixtures/routes/fixture-files.js';

const routingDoc = readFileSync(fileURLToPath(new URL('../../../../../docs/routing.md', import.meta.url)), 'utf8');

t.test('route ids are unique, documented and dotted lower-case', (t) => {
  t.equal(new Set(ROUTE_IDS).size, ROUTE_IDS.length, 'unique');
  for (const [id, doc] of ROUTE_ID_DOCS) {
    t.match(id, /^[a-z0-9_]+(\.[a-z0-9_]+)*$/, `${id} is a stable dotted id`);
    t.ok(doc.length > 10, `${id} has a doc line`);
    t.ok(routingDoc.includes(`\`${id}\``), `docs/routing.md mentions ${id}`);
  }
  t.end();
});

t.test('every route id is reached by some fixture row', (t) => {
  const reached = new Set<string>();
  for (const row of loadRouteRows()) if (row.expect.kind === 'route' && row.expect.id) reached.add(row.expect.id);
  t.same(ROUTE_IDS.filter((id) => !reached.has(id)), []);
  t.end();
});

t.test('every route spec names the Synapse servlet it mirrors, and docs/routing.md lists it', (t) => {
  for (const spec of [...CLIENT_ROUTE_SPECS, ...MEDIA_ROUTE_SPECS]) {
    const servlet = /^[A-Za-z]+/.exec(spec.mirrors)?.[0] ?? '';
    t.ok(servlet.length > 0, `${spec.template} mirrors ${spec.mirrors}`);
    t.ok(routingDoc.includes(servlet), `docs/routing.md mentions ${servlet}`);
  }
  t.end();
});
