import t from 'tap';
import { MAX_REQUEST_TARGET_LENGTH, routeRequest } from '../../../../src/gateway/router/route-request.js';
import type { RouteDecision } from '../../../../src/gateway/router/route-request.js';
import { loadRouteRows } from '../../../fixtures/routes/fixture-files.js';
import type { ExpectedDecision } from '../../../fixtures/routes/fixture-files.js';

/** The decision reduced to the fields the row checks. */
function comparable(decision: RouteDecision, expect: ExpectedDecision): ExpectedDecision {
  const out: ExpectedDecision = { kind: decision.kind };
  if (decision.kind === 'redirect' && expect.location !== undefined) out.location = decision.location;
  if (decision.kind === 'route') {
    if (expect.id !== undefined) out.id = decision.match.id;
    if (expect.params !== undefined) out.params = { ...decision.match.params };
    if (expect.prefix !== undefined) out.prefix = decision.match.prefix;
  }
  return out;
}

const rows = loadRouteRows();

t.test('fixture rows', (t) => {
  t.ok(rows.length >= 250, `${rows.length} rows`);
  for (const row of rows) {
    const decision = routeRequest(row.method, row.path, row.query ?? '');
    t.same(comparable(decision, row.expect), row.expect, `${row.file}: ${row.method} ${row.path}${row.note ? ` (${row.note})` : ''}`);
  }
  t.end();
});

t.test('every route decision carries params and a prefix', (t) => {
  for (const row of rows) {
    const decision = routeRequest(row.method, row.path, row.query ?? '');
    if (decision.kind !== 'route') continue;
    t.equal(typeof decision.match.prefix, 'string');
    t.equal(typeof decision.match.params, 'object');
  }
  t.end();
});

t.test('shared decisions cannot be mutated by a caller', (t) => {
  const other = routeRequest('GET', '/_matrix/client/versions', '');
  t.ok(Object.isFrozen(other), 'catch-all decision is frozen');
  t.ok(other.kind === 'route' && Object.isFrozen(other.match) && Object.isFrozen(other.match.params));
  t.ok(Object.isFrozen(routeRequest('OPTIONS', '/', '')));
  t.end();
});

t.test('a request target longer than MAX_REQUEST_TARGET_LENGTH is refused, whatever the method', (t) => {
  const base = '/_matrix/client/v3/rooms/!r:s/state/m.room.power_levels/';
  const pathOf = (length: number) => base + 'k'.repeat(length - base.length);
  t.equal(routeRequest('PUT', pathOf(MAX_REQUEST_TARGET_LENGTH), '').kind, 'route');
  t.equal(routeRequest('PUT', pathOf(MAX_REQUEST_TARGET_LENGTH + 1), '').kind, 'target-too-long');
  t.equal(routeRequest('OPTIONS', pathOf(MAX_REQUEST_TARGET_LENGTH + 1), '').kind, 'target-too-long');
  t.equal(routeRequest('GET', '//x/' + 'y'.repeat(MAX_REQUEST_TARGET_LENGTH), '').kind, 'target-too-long', 'before the redirect');
  // The `?` counts: path + 1 + query.
  t.equal(routeRequest('PUT', pathOf(MAX_REQUEST_TARGET_LENGTH - 11), 'a'.repeat(10)).kind, 'route');
  t.equal(routeRequest('PUT', pathOf(MAX_REQUEST_TARGET_LENGTH - 10), 'a'.repeat(10)).kind, 'target-too-long');
  t.end();
});

t.test('CONNECT is answered locally, on any path, before a redirect or a route', (t) => {
  // undici, the proxy's client, takes any answer to a CONNECT for a tunnel and never reports it:
  // proxied, the request waited for the whole exchange cap and got a false 504 (audit 14, F2).
  for (const path of ['/_matrix/client/v3/account/whoami', '/_matrix/client/v3//sync', '/_matrix/client/corporal', '/anything']) {
    t.equal(routeRequest('CONNECT', path, '').kind, 'connect', path);
  }
  t.equal(routeRequest('connect', '/_matrix/client/v3/sync', '').kind, 'connect', 'any case, as methods are compared');
  t.end();
});
