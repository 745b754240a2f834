import t from 'tap';
import { equivalentRoutePaths } from '../../../../src/gateway/hooks/equivalent-paths.js';
import { loadSynapseRouteDump } from '../../../fixtures/routes/fixture-files.js';
import { SeededRandom, samplePattern, synapsePatternToRegExp } from '../../../fixtures/routes/synapse-oracle.js';

/** A Synapse pattern under a vendor prefix (`unstable/<name with a dot>/`, the dot escaped or not). */
const VENDOR = /\/unstable\/[A-Za-z0-9_-]+(?:\\?\.[A-Za-z0-9_-]+)+\//;

t.test('a client path is also spelled under every release prefix, itself first', async (t) => {
  t.same(equivalentRoutePaths('/_matrix/client/api/v1/login'), [
    '/_matrix/client/api/v1/login', '/_matrix/client/v3/login', '/_matrix/client/r0/login', '/_matrix/client/v1/login',
  ]);
  t.same(equivalentRoutePaths('/_matrix/client/unstable/rooms/!r:x/send/m.room.message/t%2F1'), [
    '/_matrix/client/unstable/rooms/!r:x/send/m.room.message/t%2F1',
    '/_matrix/client/v3/rooms/!r:x/send/m.room.message/t%2F1',
    '/_matrix/client/r0/rooms/!r:x/send/m.room.message/t%2F1',
    '/_matrix/client/v1/rooms/!r:x/send/m.room.message/t%2F1',
  ], 'the rest of the path is kept as it is');
  t.same(equivalentRoutePaths('/_matrix/client/v3/sync'), ['/_matrix/client/v3/sync', '/_matrix/client/r0/sync', '/_matrix/client/v1/sync']);
});

t.test('one way only: a release spelling is never tested as unstable or api/v1', async (t) => {
  for (const form of equivalentRoutePaths('/_matrix/client/v3/sync')) t.notMatch(form, /\/(unstable|api\/v1)\//, form);
});

t.test('vendor aliases Synapse serves with a stable servlet', async (t) => {
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/im.nheko.summary/summary/!r:x').includes('/_matrix/client/v1/room_summary/!r:x'));
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/im/nheko/summary/rooms/!r:x/summary').includes('/_matrix/client/v1/room_summary/!r:x'),
    'the dots of Synapse\'s unescaped vendor pattern match a slash too');
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/org.matrix.msc2432/rooms/!r:x/aliases').includes('/_matrix/client/r0/rooms/!r:x/aliases'), 'the stable path, in its release spellings too');
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/org.matrix.msc3882/login/token').includes('/_matrix/client/v1/login/get_token'));
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/org.matrix.msc2965/auth_metadata').includes('/_matrix/client/v1/auth_metadata'));
});

t.test('media: the media tree\'s versions; the two trees stay apart', async (t) => {
  t.same(equivalentRoutePaths('/_matrix/media/r0/download/x/abc'), [
    '/_matrix/media/r0/download/x/abc', '/_matrix/media/v3/download/x/abc', '/_matrix/media/v1/download/x/abc',
  ]);
  for (const form of equivalentRoutePaths('/_matrix/client/v1/media/config')) t.notMatch(form, /^\/_matrix\/media\//, form);
});

t.test('paths without another spelling', async (t) => {
  for (const path of ['/_synapse/admin/v1/users', '/_matrix/client/versions', '/_matrix/client/v3', '/_matrix/key/v2/server']) {
    t.same(equivalentRoutePaths(path), [path], path);
  }
});

t.test('vendor paths are not spelled as releases; dotted vendors are also spelled with their dots', async (t) => {
  t.same(equivalentRoutePaths('/_matrix/client/unstable/org.matrix.simplified_msc3575/sync'), ['/_matrix/client/unstable/org.matrix.simplified_msc3575/sync'],
    'no v3 spelling: Synapse serves no such endpoint, and an inverted "stable only" rule must not pass it');
  t.same(equivalentRoutePaths('/_matrix/client/unstable/org_matrix_simplified_msc3575/sync'), [
    '/_matrix/client/unstable/org_matrix_simplified_msc3575/sync', '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync',
  ], "Synapse's unescaped dots match any character");
  t.same(equivalentRoutePaths('/_matrix/client/unstable/pushers/remove'), ['/_matrix/client/unstable/pushers/remove'], 'served under unstable alone');
  t.ok(equivalentRoutePaths('/_matrix/client/r0/admin/whois/@u:x').includes('/_synapse/admin/v1/whois/@u:x'), 'the admin whois servlet in the client tree');
  t.ok(equivalentRoutePaths('/_matrix/client/v1/register/m_login_registration_token/validity').includes('/_matrix/client/v1/register/m.login.registration_token/validity'),
    'the one non-vendor path Synapse compiled with unescaped dots');
});

t.test('the dotted client path keeps its own prefix when spelled with its dots', async (t) => {
  t.ok(equivalentRoutePaths('/_matrix/client/unstable/register/m_login_registration_token/validity')
    .includes('/_matrix/client/unstable/register/m.login.registration_token/validity'),
  'Synapse serves it under unstable too: a rule aimed at that spelling must see the underscored one');
});

t.test("against Synapse's route tables: every vendor spelling of a servlet that also has a stable path is covered", async (t) => {
  const dump = loadSynapseRouteDump();
  const rng = new SeededRandom(15);
  let checked = 0;
  for (const [table, routes] of Object.entries(dump.tables)) {
    const byServlet = new Map<string, string[]>();
    for (const route of routes) byServlet.set(route.servlet, [...(byServlet.get(route.servlet) ?? []), route.pattern]);
    for (const [servlet, patterns] of byServlet) {
      const vendor = patterns.filter((pattern) => VENDOR.test(pattern));
      const stable = patterns.filter((pattern) => !VENDOR.test(pattern)).map(synapsePatternToRegExp);
      if (vendor.length === 0 || stable.length === 0) continue;
      for (const pattern of vendor) {
        const path = samplePattern(pattern, rng, ['!r:s', '@u:s']);
        const forms = equivalentRoutePaths(path);
        t.ok(forms.some((form) => stable.some((regex) => regex.test(form))), `${table} ${servlet}: ${path} is also tested as a stable path`);
        checked++;
      }
    }
  }
  t.ok(checked >= 4, `${checked} vendor spellings checked`);
});

t.test("against Synapse's route tables: unstable is spelled as a release exactly when Synapse serves the servlet under one", async (t) => {
  const dump = loadSynapseRouteDump();
  const rng = new SeededRandom(16);
  const counts = { alone: 0, withRelease: 0 };
  const prefixListOf = (pattern: string): string[] => {
    const match = /^\^\/_matrix\/client\/(?:\(([^)]*)\)|([^/(]+))\//.exec(pattern);
    return (match?.[1] ?? match?.[2] ?? '').split('|');
  };
  const isRelease = (prefix: string): boolean => prefix === 'r0' || prefix === 'v3' || prefix === 'v1';
  for (const routes of Object.values(dump.tables)) {
    const releasedServlets = new Set(routes.filter((route) => prefixListOf(route.pattern).some(isRelease)).map((route) => route.servlet));
    for (const route of routes) {
      if (!prefixListOf(route.pattern).includes('unstable')) continue;
      const path = samplePattern(route.pattern.replace(/^\^\/_matrix\/client\/(?:\([^)]*\)|[^/(]+)\//, '^/_matrix/client/unstable/'), rng, ['x', '!r:s']);
      const released = equivalentRoutePaths(path).filter((form) => /^\/_matrix\/client\/(r0|v1|v3)\//.test(form));
      if (releasedServlets.has(route.servlet)) {
        t.ok(released.length > 0, `${route.servlet} ${route.pattern}: ${path} is also tested as a release`);
        counts.withRelease++;
      } else {
        t.same(released, [], `${route.servlet} ${route.pattern}: ${path} is served under unstable alone`);
        counts.alone++;
      }
    }
  }
  t.ok(counts.alone >= 4 && counts.withRelease > 100, JSON.stringify(counts));
});

t.test("against Synapse's route tables: a path compiled with unescaped dots outside a vendor prefix is also spelled with its dots", async (t) => {
  const dump = loadSynapseRouteDump();
  const rng = new SeededRandom(17);
  const seen = new Set<string>();
  for (const routes of Object.values(dump.tables)) {
    for (const route of routes) {
      const rest = route.pattern.replace(/^\^\/_matrix\/client\/(?:\([^)]*\)|[^/(]+)\//, '');
      if (rest === route.pattern || /^unstable\//.test(rest) || VENDOR.test(route.pattern)) continue;
      if (!/(?<!\\)\.(?![^[]*\])/.test(rest.replace(/\(\?P<[^>]+>[^)]*\)/g, ''))) continue;
      const path = samplePattern(route.pattern, rng, ['x']);
      const variant = path.replace(/^(\/_matrix\/client\/(?:api\/v1|[^/]+)\/)(.*)$/, (_, prefix: string, tail: string) => `${prefix}${tail.replaceAll('.', '_')}`);
      if (variant === path || seen.has(variant) || !synapsePatternToRegExp(route.pattern).test(variant)) continue;
      seen.add(variant);
      // The pattern as an operator would write it, dots escaped: one spelling must match it.
      const escaped = synapsePatternToRegExp(route.pattern.replace(/(?<!\\)\.(?![^[]*\])/g, '\\.'));
      t.ok(equivalentRoutePaths(variant).some((form) => escaped.test(form)), `${variant} is also tested with its dots`);
    }
  }
  t.ok(seen.size >= 1, `${seen.size} such paths`);
});
