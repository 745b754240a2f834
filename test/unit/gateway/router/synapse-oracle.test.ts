/**
 * Differential test: for every request Synapse 1.163.2 would *execute* (per its dumped route
 * tables, emulated by the oracle), the router must name exactly the action Synapse runs, with the
 * same decoded params. Requests Synapse answers with 404/405, and requests the router does not
 * forward (redirect, unsupported version, OPTIONS, info), are unconstrained: over-matching is
 * allowed, under-matching is the bug this test exists to catch.
 */
import t from 'tap';
import { DOTTED_VENDORS, routeRequest } from '../../../../src/gateway/router/route-request.js';
import { ROUTE_IDS } from '../../../../src/gateway/router/route-ids.js';
import { loadRouteRows, loadSynapseRouteDump } from '../../../fixtures/routes/fixture-files.js';
import type { Disagreement } from '../../../fixtures/routes/synapse-oracle.js';
import {
  SeededRandom,
  SynapseRouter,
  disagreements,
  loadSynapseRouters,
  samplePattern,
  synapsePatternToRegExp,
} from '../../../fixtures/routes/synapse-oracle.js';

const dump = loadSynapseRouteDump();
const routers = loadSynapseRouters();
const defaultRouter = new SynapseRouter(dump.tables['default'] ?? []);

/** Raw param values: plain, percent-encoded, %2F inside, unicode, invalid escapes, literals of other routes. */
const VALUES = [
  '!r:s', '%21r%3As', '!a%2Fb:s', '!JzRiugyebQ1d6zzLr6BzLZa8p8fd0M6j0V6PWnfLGQU', '@u:s', '%40u%3As', '#a:s', '%23a%3As',
  'm.room.member', 'm%2Eroom%2Emember', 'm.room.encryption', 'm%2eroom%2eencryption', 'm.room.encr%79ption',
  'm.room.power_levels', 'm.room.power%5Flevels', 'm.room.tombstone', 'm.room.tomb%73tone', 'm.room.redaction', 'm.room.red%61ction', 'm.room.name', 'm.room.message', 'displayname', 'display%6Eame',
  'avatar_url', 'avatar%5Furl', 'm.tz', 'org.example.foo', 'x', 't1', 't%2F1', '$ev', '%24ev', '%E2%9C%93',
  'caf%C3%A9', '%F0%9F%98%80', '%zz', '%C3', '%', 'join', 'leave', 'state', 'send', 'login', 'token', 'sync',
  'm.login.password', 'oidc-github', 'example.org', 'AbCdEf', 'f.png', 'pushrules/global/', 'a/b', '', 'rooms',
  'profile', 'account', 'password', 'createRoom', 'upload',
];
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'];

/** Adds the disagreements of one request (against every table) to `found`. */
function check(method: string, path: string, found: Disagreement[], executed: Set<string>): void {
  found.push(...disagreements(routers, method, path, routeRequest(method, path, ''), executed));
}

t.test('the oracle reproduces known Synapse behaviour', (t) => {
  const execute = (method: string, path: string) => defaultRouter.outcome(method, path);
  t.match(execute('PUT', '/_matrix/client/v3/profile/%40alice%3Alocalhost/display%6Eame'), {
    kind: 'execute',
    servlet: 'ProfileFieldRestServlet',
    groups: { user_id: '@alice:localhost', field_name: 'displayname' },
  });
  t.match(execute('PUT', '/_matrix/client/v3/rooms/!r:s/state/m%2Eroom%2Eencryption/'), {
    kind: 'execute',
    servlet: 'RoomStateEventRestServlet',
    groups: { event_type: 'm.room.encryption', state_key: '' },
  });
  t.match(execute('PUT', '/_matrix/client/api/v1/rooms/!r:s/leave/txn1'), { kind: 'execute', groups: { txn_id: 'txn1' } });
  t.match(execute('PUT', '/_matrix/client/v3/rooms/!r:s/leave/'), { kind: 'execute', groups: { txn_id: '' } });
  t.match(execute('POST', '/_matrix/client/v3/rooms/!r:s/send/m.room.message'), { kind: 'execute', servlet: 'RoomSendEventRestServlet' });
  t.same(execute('POST', '/_matrix/client/v3/rooms/!r:s/leave/'), { kind: '405' }, 'the PUT txn form matches first');
  t.same(execute('POST', '/_matrix/client/v3/rooms/!r:s/lea%76e'), { kind: '404' }, 'literals are raw');
  t.same(execute('POST', '/_matrix/client/v1/login'), { kind: '404' });
  t.same(execute('PUT', '/_matrix/client/r0/profile/@u:s/displayname/anything'), { kind: '404' }, 'anchored in 1.163.2');
  t.same(execute('GET', '/_matrix/client/v3/login/'), { kind: '404' });
  t.same(execute('POST', '/_matrix/client/v3/login/'), { kind: '404' });
  t.same(execute('get', '/_matrix/client/v3/sync'), { kind: '405' }, 'methods are compared byte for byte');
  t.same(execute('GET', '/_matrix/client/v3/rooms/caf\u00e9/state'), { kind: 'error' });
  t.end();
});

t.test("Synapse's own unstable/ first segments are never taken as vendor segments", (t) => {
  const segments = new Set<string>();
  for (const { router } of routers) {
    for (const pattern of router.patterns) {
      const grouped = /^\^\/_matrix\/client\/\(([^)]*)\)\/([A-Za-z_]+)/.exec(pattern);
      if (grouped?.[1]?.split('|').includes('unstable') && grouped[2]) segments.add(grouped[2]);
      // Directly under unstable/ without dots: not a vendor namespace (add_threepid, pushers, …).
      const direct = /^\^\/_matrix\/client\/unstable\/([A-Za-z_]+)\//.exec(pattern);
      if (direct?.[1]) segments.add(direct[1]);
    }
  }
  t.ok(segments.size > 30, `${segments.size} segments`);
  for (const segment of segments) {
    const decision = routeRequest('GET', `/_matrix/client/unstable/${segment}/rooms/!r:s/state`, '');
    t.match(decision, { kind: 'route', match: { prefix: 'unstable' } }, segment);
  }
  t.end();
});

t.test("the router knows every vendor prefix Synapse compiled with unescaped dots (they match '/' too)", (t) => {
  const dotted = new Set<string>();
  for (const { router } of routers) {
    for (const pattern of router.patterns) {
      for (const [, vendor] of pattern.matchAll(/unstable\/((?:[A-Za-z0-9_-]|\\\.|\.)+)\//g)) {
        if (vendor !== undefined && vendor.replaceAll('\\.', '').includes('.')) dotted.add(vendor);
      }
    }
  }
  t.same([...DOTTED_VENDORS].sort(), [...dotted].sort());
  for (const vendor of dotted) {
    // Every dot written as a slash, in front of a route of ours: policed as that route.
    const decision = routeRequest('POST', `/_matrix/client/unstable/${vendor.replaceAll('.', '/')}/rooms/!r:s/leave`, '');
    t.match(decision, { kind: 'route', match: { id: 'room.leave', prefix: `unstable/${vendor.replaceAll('.', '/')}` } }, vendor);
  }
  t.end();
});

t.test('every Synapse pattern can be sampled, and each sample matches its pattern', (t) => {
  const rng = new SeededRandom(1);
  let count = 0;
  for (const { router } of routers) {
    for (const pattern of router.patterns) {
      const regex = synapsePatternToRegExp(pattern);
      for (let i = 0; i < 3; i++) {
        const path = samplePattern(pattern, rng, VALUES);
        if (!regex.test(path)) t.fail(`sample ${path} does not match ${pattern}`);
        count++;
      }
    }
  }
  t.ok(count > 500, `${count} samples`);
  t.end();
});

t.test('fixture rows agree with Synapse', (t) => {
  const mismatches: Disagreement[] = [];
  const executed = new Set<string>();
  for (const row of loadRouteRows()) check(row.method, row.path, mismatches, executed);
  t.same(mismatches, [], 'no row where Synapse executes something else');
  t.end();
});

t.test('sampled Synapse routes (all prefixes, encodings, methods, trailing slash, extra segment)', (t) => {
  const rng = new SeededRandom(163);
  const mismatches: Disagreement[] = [];
  const executed = new Set<string>();
  let requests = 0;
  const patterns = [...new Set(routers.flatMap(({ router }) => router.patterns))];
  for (const pattern of patterns) {
    // Patterns that span segments (`.*`, e.g. pushrules) get many more samples.
    const samples = pattern.includes('.*') ? 400 : 12;
    for (let sample = 0; sample < samples; sample++) {
      const path = samplePattern(pattern, rng, VALUES);
      const variants = [path, `${path}/`, `${path}/${rng.pick(VALUES)}`, encodeOneLetter(path, rng)];
      for (const variant of variants) {
        for (const method of METHODS) {
          check(method, variant, mismatches, executed);
          requests++;
        }
      }
    }
  }
  t.same(mismatches.slice(0, 20), [], `no disagreement in ${requests} requests`);
  t.end();
});

t.test('directed sweep: every value in every param of every Synapse pattern', (t) => {
  const rng = new SeededRandom(42);
  const mismatches: Disagreement[] = [];
  const executed = new Set<string>();
  const patterns = [...new Set(routers.flatMap(({ router }) => router.patterns))];
  for (const pattern of patterns) {
    for (const value of VALUES) {
      const path = samplePattern(pattern, rng, VALUES, value);
      for (const method of METHODS) check(method, path, mismatches, executed);
    }
  }
  t.same(mismatches.slice(0, 20), [], 'no disagreement');
  const policed = ROUTE_IDS.filter((id) => id !== 'other');
  t.same(policed.filter((id) => !executed.has(id)), [], 'every route id was seen executed by Synapse');
  t.end();
});

t.test('mutated samples: segments replaced, removed, duplicated or inserted', (t) => {
  const rng = new SeededRandom(7);
  const patterns = [...new Set(routers.flatMap(({ router }) => router.patterns))];
  const literals = [...new Set(patterns.flatMap((p) => p.replace(/\(\?P<[^>]*>[^)]*\)/g, '').split(/[^A-Za-z0-9_.-]+/)))].filter(
    (s) => s !== '',
  );
  const mismatches: Disagreement[] = [];
  const executed = new Set<string>();
  for (let n = 0; n < 4000; n++) {
    const segments = samplePattern(rng.pick(patterns), rng, VALUES).split('/');
    for (let m = 1 + Math.floor(rng.next() * 2); m > 0; m--) {
      // Never touch the first three segments ('', '_matrix', 'client'|'media'): those are 404s anyway.
      const at = 3 + Math.floor(rng.next() * Math.max(1, segments.length - 3));
      const piece = rng.chance(0.5) ? rng.pick(literals) : rng.pick(VALUES);
      const mutation = rng.pick(['replace', 'remove', 'duplicate', 'insert']);
      if (mutation === 'replace') segments[at] = piece;
      else if (mutation === 'remove') segments.splice(at, 1);
      else if (mutation === 'duplicate') segments.splice(at, 0, segments[at] ?? piece);
      else segments.splice(at, 0, piece);
    }
    const path = segments.join('/');
    for (const method of METHODS) check(method, path, mismatches, executed);
  }
  t.same(mismatches.slice(0, 20), [], 'no disagreement');
  t.ok(executed.size > 20, `Synapse executed ${executed.size} distinct route ids among them`);
  t.end();
});

/** Replaces one ASCII letter of the path by its %XX form (an encoded literal, or a param byte). */
function encodeOneLetter(path: string, rng: SeededRandom): string {
  const positions = [...path].flatMap((c, i) => (/[A-Za-z_]/.test(c) ? [i] : []));
  if (positions.length === 0) return path;
  const at = rng.pick(positions);
  const hex = path.charCodeAt(at).toString(16).toUpperCase();
  return `${path.slice(0, at)}%${hex}${path.slice(at + 1)}`;
}
