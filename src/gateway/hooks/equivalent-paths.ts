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
 * Rules are therefore tested against the path as sent and against its **release spellings**: a
 * client path under any of `api/v1`, `r0`, `v1`, `v3`, `unstable` is also tested under `r0`, `v1`
 * and `v3`, a vendor alias below under its stable path, and a media path under `/_matrix/media/`
 * `r0`, `v1` and `v3`. It is one way only: a path under a release prefix is never tested as
 * `unstable` or `api/v1`, so a rule aimed at those (`^/_matrix/client/unstable/`) keeps matching
 * only them; and the two media trees stay apart (`/_matrix/client/v1/media/…`, authenticated media,
 * is not `/_matrix/media/…`), so a rule aimed at one does not block the other (verification 15).
 * Testing a spelling that Synapse does not serve is harmless: that request ends in Synapse's 404
 * whether a hook fired or not.
 */
import { CLIENT_ROOT, MEDIA_ROOT, pythonDots } from '../router/route-request.js';

/** The client prefixes that stand for the same servlets (vendor prefixes `unstable/<vendor>` are not among them). */
const CLIENT_PREFIXES: readonly string[] = ['v3', 'r0', 'v1', 'api/v1', 'unstable'];
/** Release spellings of the client tree: what every client path is also tested as. */
const CLIENT_RELEASES: readonly string[] = ['v3', 'r0', 'v1'];
/** The media tree's version segments (Synapse mounts one media resource under each). */
const MEDIA_VERSIONS: readonly string[] = ['v3', 'r0', 'v1'];

/**
 * Vendor-prefixed paths that Synapse 1.163.2 serves with the same servlet as a stable path, and
 * that stable path: every servlet of its route tables that registers both (a test checks this
 * against the dumped tables). The first two are served by default; the others with
 * `login_via_existing_session`, with MAS, and with MSC4133 (extended profile fields) enabled.
 */
const VENDOR_ALIASES: readonly (readonly [pattern: RegExp, stable: (match: RegExpExecArray) => string])[] = [
  [new RegExp(`^/_matrix/client/unstable/${pythonDots('im.nheko.summary')}/rooms/([^/]*)/summary$`), (m) => `${CLIENT_ROOT}v1/room_summary/${m[1]}`],
  [new RegExp(`^/_matrix/client/unstable/${pythonDots('im.nheko.summary')}/summary/([^/]*)$`), (m) => `${CLIENT_ROOT}v1/room_summary/${m[1]}`],
  [/^\/_matrix\/client\/unstable\/org\.matrix\.msc2432\/rooms\/([^/]*)\/aliases$/, (m) => `${CLIENT_ROOT}v3/rooms/${m[1]}/aliases`],
  [new RegExp(`^/_matrix/client/unstable/${pythonDots('org.matrix.msc3882')}/login/token$`), () => `${CLIENT_ROOT}v1/login/get_token`],
  [new RegExp(`^/_matrix/client/unstable/${pythonDots('org.matrix.msc2965')}/auth_metadata$`), () => `${CLIENT_ROOT}v1/auth_metadata`],
  [/^\/_matrix\/client\/unstable\/uk\.tcpip\.msc4133\/profile\/([^/]*)\/([^/]*)$/, (m) => `${CLIENT_ROOT}v3/profile/${m[1]}/${m[2]}`],
];

/**
 * `routePath` (as route rules see it) followed by its release spellings (see the module comment);
 * `[routePath]` for a path that has none.
 */
export function equivalentRoutePaths(routePath: string): readonly string[] {
  const forms = [routePath];
  const vendorStable = stableOfVendorAlias(routePath);
  const clientPath = vendorStable ?? routePath;
  if (vendorStable !== null) forms.push(vendorStable);
  const client = splitPrefix(clientPath, CLIENT_ROOT, CLIENT_PREFIXES);
  if (client !== null) {
    for (const release of CLIENT_RELEASES) addForm(forms, `${CLIENT_ROOT}${release}/${client.rest}`);
    return forms;
  }
  const media = splitPrefix(routePath, MEDIA_ROOT, MEDIA_VERSIONS);
  if (media !== null) {
    for (const version of MEDIA_VERSIONS) addForm(forms, `${MEDIA_ROOT}${version}/${media.rest}`);
  }
  return forms;
}

function addForm(forms: string[], form: string): void {
  if (!forms.includes(form)) forms.push(form);
}

/** The stable path of a vendor alias in {@link VENDOR_ALIASES}, or null. */
function stableOfVendorAlias(path: string): string | null {
  if (!path.startsWith(`${CLIENT_ROOT}unstable/`)) return null;
  for (const [pattern, stable] of VENDOR_ALIASES) {
    const match = pattern.exec(path);
    if (match !== null) return stable(match);
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
