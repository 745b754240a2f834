/**
 * The spellings of one endpoint that Synapse serves under different prefixes, for hook `route`
 * rules.
 *
 * Synapse registers most client servlets under several prefixes at once: the release spellings
 * `r0` and `v3` (or `v1` for newer endpoints), and also `unstable` and, for older ones, `api/v1`;
 * a few under a vendor prefix as well (`unstable/im.nheko.summary/summary/{room}` is
 * `v1/room_summary/{room}`). A route rule written for one spelling, such as
 * `^/_matrix/client/(r0|v3)/login$` (what matrix-corporal's examples show), would otherwise let
 * the same request through under another: `api/v1/login` logs in all the same (red team 15, F1).
 *
 * Rules are therefore tested against the path as sent and against the other spellings of the same
 * endpoint:
 * - a client path under `api/v1`, `r0`, `v1`, `v3` or `unstable` is also tested under `r0`, `v1`
 *   and `v3` — except the few endpoints Synapse serves under `unstable` alone, and vendor paths
 *   (`unstable/org.matrix.msc3575/sync` is no `v3` endpoint: spelling it so would make an inverted
 *   "stable API only" rule let it through; verification 15b);
 * - a vendor path whose vendor Synapse compiled with unescaped dots is also tested with the dots
 *   written as dots (`unstable/org_matrix_simplified_msc3575/sync` runs that vendor's servlet), and
 *   so is the one other path Synapse compiled so (`register/m.login.registration_token/validity`);
 * - the aliases below (a vendor path, or a client path of an admin servlet) as the path Synapse
 *   serves with the same servlet;
 * - a media path under `/_matrix/media/` `r0`, `v1` and `v3`.
 *
 * It is one way only: a path under a release prefix is never tested as `unstable` or `api/v1`, so
 * a rule aimed at those (`^/_matrix/client/unstable/`) keeps matching only them; and the two media
 * trees stay apart (`/_matrix/client/v1/media/…`, authenticated media, is not `/_matrix/media/…`),
 * so a rule aimed at one does not block the other (verification 15; the policy validator warns
 * about a rule that names only one of them).
 */
import { CLIENT_ROOT, DOTTED_VENDORS, MEDIA_ROOT, pythonDots, startsWithVendor } from '../router/route-request.js';

/** The client prefixes that stand for the same servlets (vendor prefixes `unstable/<vendor>` are not among them). */
const CLIENT_PREFIXES: readonly string[] = ['v3', 'r0', 'v1', 'api/v1', 'unstable'];
/** Release spellings of the client tree: what a client path is also tested as. */
const CLIENT_RELEASES: readonly string[] = ['v3', 'r0', 'v1'];
/** The media tree's version segments (Synapse mounts one media resource under each). */
const MEDIA_VERSIONS: readonly string[] = ['v3', 'r0', 'v1'];

/**
 * The endpoints Synapse 1.163.2 serves under `unstable/` and under no release prefix (from its
 * route tables; a test checks this), as the path after `unstable/`: never spelled as a release.
 */
const UNSTABLE_ONLY = /^(?:pushers\/remove|add_threepid\/(?:email|msisdn)\/submit_token|registration\/[^/]*\/submit_token)\/?$/;

/**
 * Paths after the client prefix that Synapse compiled with unescaped dots outside a vendor prefix
 * (from its route tables; a test checks this), with the pattern they match: a `.` there is any
 * character, so `register/m_login_registration_token/validity` runs that servlet.
 */
const DOTTED_CLIENT_PATHS: readonly (readonly [path: string, pattern: RegExp])[] = ['register/m.login.registration_token/validity']
  .map((path) => [path, new RegExp(`^${pythonDots(path)}/?$`)] as const);

/** Each vendor Synapse compiled with unescaped dots, with the pattern it matches after `unstable/`. */
const DOTTED_VENDOR_PATTERNS: readonly (readonly [vendor: string, pattern: RegExp])[] =
  DOTTED_VENDORS.map((vendor) => [vendor, new RegExp(`^${pythonDots(vendor)}(?=/)`)] as const);

/**
 * Paths that Synapse 1.163.2 serves with the same servlet as another path, and that path: every
 * vendor-prefixed servlet of its route tables that also has a stable path (a test checks this
 * against the dumped tables), and the admin `whois` servlet, which is also mounted in the client
 * tree. `im.nheko.summary`, `org.matrix.msc2432` and `whois` are served by default; the others with
 * `login_via_existing_session`, with MAS, and with MSC4133 (extended profile fields) enabled.
 */
const ALIASES: readonly (readonly [pattern: RegExp, same: (match: RegExpExecArray) => string])[] = [
  [/^\/_matrix\/client\/unstable\/im\.nheko\.summary\/rooms\/([^/]*)\/summary$/, (m) => `${CLIENT_ROOT}v1/room_summary/${m[1]}`],
  [/^\/_matrix\/client\/unstable\/im\.nheko\.summary\/summary\/([^/]*)$/, (m) => `${CLIENT_ROOT}v1/room_summary/${m[1]}`],
  [/^\/_matrix\/client\/unstable\/org\.matrix\.msc2432\/rooms\/([^/]*)\/aliases$/, (m) => `${CLIENT_ROOT}v3/rooms/${m[1]}/aliases`],
  [/^\/_matrix\/client\/unstable\/org\.matrix\.msc3882\/login\/token$/, () => `${CLIENT_ROOT}v1/login/get_token`],
  [/^\/_matrix\/client\/unstable\/org\.matrix\.msc2965\/auth_metadata$/, () => `${CLIENT_ROOT}v1/auth_metadata`],
  [/^\/_matrix\/client\/unstable\/uk\.tcpip\.msc4133\/profile\/([^/]*)\/([^/]*)$/, (m) => `${CLIENT_ROOT}v3/profile/${m[1]}/${m[2]}`],
  [/^\/_matrix\/client\/(?:api\/v1|r0|v3|unstable)\/admin\/whois\/([^/]*)$/, (m) => `/_synapse/admin/v1/whois/${m[1]}`],
];

/**
 * `routePath` (as route rules see it) followed by its other spellings (see the module comment);
 * `[routePath]` for a path that has none.
 */
export function equivalentRoutePaths(routePath: string): readonly string[] {
  const forms = [routePath];
  addSpellings(forms, routePath);
  return forms;
}

/** Adds the other spellings of `path` to `forms`, and those of the paths it is an alias of. */
function addSpellings(forms: string[], path: string): void {
  const client = splitPrefix(path, CLIENT_ROOT, CLIENT_PREFIXES);
  if (client === null) {
    const media = splitPrefix(path, MEDIA_ROOT, MEDIA_VERSIONS);
    if (media !== null) for (const version of MEDIA_VERSIONS) addForm(forms, `${MEDIA_ROOT}${version}/${media.rest}`);
    return;
  }
  if (client.prefix === 'unstable' && startsWithVendor(client.rest.split('/'))) {
    const canonical = withDottedVendor(client.rest);
    if (canonical !== null) addForm(forms, `${CLIENT_ROOT}unstable/${canonical}`);
  } else if (!(client.prefix === 'unstable' && UNSTABLE_ONLY.test(client.rest))) {
    const rest = withDottedClientPath(client.rest);
    if (rest !== client.rest) addForm(forms, `${CLIENT_ROOT}${client.prefix}/${rest}`);
    for (const release of CLIENT_RELEASES) addForm(forms, `${CLIENT_ROOT}${release}/${rest}`);
  }
  for (const form of forms.slice()) {
    const same = aliasOf(form);
    if (same !== null && !forms.includes(same)) {
      forms.push(same);
      addSpellings(forms, same);
    }
  }
}

function addForm(forms: string[], form: string): void {
  if (!forms.includes(form)) forms.push(form);
}

/** The path Synapse serves with the same servlet as `path` ({@link ALIASES}), or null. */
function aliasOf(path: string): string | null {
  for (const [pattern, same] of ALIASES) {
    const match = pattern.exec(path);
    if (match !== null) return same(match);
  }
  return null;
}

/** `rest` (after the client prefix) written with its dots when Synapse's pattern takes it for a {@link DOTTED_CLIENT_PATHS} path. */
function withDottedClientPath(rest: string): string {
  for (const [path, pattern] of DOTTED_CLIENT_PATHS) {
    if (pattern.test(rest)) return rest.endsWith('/') ? `${path}/` : path;
  }
  return rest;
}

/**
 * `rest` (after `unstable/`) with a dotted vendor written with its dots, when it starts with a
 * spelling of one that Synapse's pattern takes for it (`org_matrix_msc3575/…`); null otherwise.
 */
function withDottedVendor(rest: string): string | null {
  for (const [vendor, pattern] of DOTTED_VENDOR_PATTERNS) {
    const match = pattern.exec(rest);
    if (match !== null) return `${vendor}${rest.slice(match[0].length)}`;
  }
  return null;
}

/** `path` as `<root><prefix>/<rest>` for one of `prefixes`, or null. */
function splitPrefix(path: string, root: string, prefixes: readonly string[]): { prefix: string; rest: string } | null {
  if (!path.startsWith(root)) return null;
  const after = path.slice(root.length);
  for (const prefix of prefixes) {
    if (after.startsWith(`${prefix}/`)) return { prefix, rest: after.slice(prefix.length + 1) };
  }
  return null;
}
