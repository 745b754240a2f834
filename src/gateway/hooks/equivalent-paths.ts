/**
 * The spellings of one endpoint that Synapse serves under different prefixes, for hook `route`
 * rules.
 *
 * Synapse registers most client servlets under several prefixes at once (`r0`, `v3` and
 * `unstable`; many also under `api/v1`, some under `v1`), and its media repository under
 * `/_matrix/media/{r0,v1,v3}` as well as `/_matrix/client/v1/media` (authenticated media). A route
 * rule written for one spelling, such as `^/_matrix/client/(r0|v3)/login$` (what matrix-corporal's
 * examples show), would otherwise let the same request through under another: `api/v1/login`
 * logs in all the same (red team 15, F1). So a rule is tested against every spelling, and it
 * matches when one of them does. Matching a spelling that Synapse does not serve is harmless: that
 * request ends in Synapse's 404 whether a hook fired or not.
 */

const CLIENT_ROOT = '/_matrix/client/';
const MEDIA_ROOT = '/_matrix/media/';
/** The client prefixes that stand for the same servlets (vendor prefixes `unstable/<vendor>` are not among them). */
const CLIENT_PREFIXES: readonly string[] = ['v3', 'r0', 'api/v1', 'v1', 'unstable'];
/** The media tree's version segments (Synapse mounts one media resource under each). */
const MEDIA_VERSIONS: readonly string[] = ['v3', 'r0', 'v1'];

/**
 * `routePath` (as route rules see it) followed by its other spellings: for
 * `/_matrix/client/<prefix>/<rest>` with a prefix of {@link CLIENT_PREFIXES}, the same `<rest>`
 * under each other one; when `<rest>` is `media/…`, or for `/_matrix/media/<version>/<rest>`, also
 * every media-tree spelling. Any other path has no other spelling: `[routePath]`.
 */
export function equivalentRoutePaths(routePath: string): readonly string[] {
  const client = splitPrefix(routePath, CLIENT_ROOT, CLIENT_PREFIXES);
  if (client !== null) {
    const forms = [routePath];
    for (const prefix of CLIENT_PREFIXES) if (prefix !== client.prefix) forms.push(`${CLIENT_ROOT}${prefix}/${client.rest}`);
    if (client.rest.startsWith('media/')) for (const version of MEDIA_VERSIONS) forms.push(`${MEDIA_ROOT}${version}/${client.rest.slice('media/'.length)}`);
    return forms;
  }
  const media = splitPrefix(routePath, MEDIA_ROOT, MEDIA_VERSIONS);
  if (media !== null) {
    const forms = [routePath];
    for (const version of MEDIA_VERSIONS) if (version !== media.prefix) forms.push(`${MEDIA_ROOT}${version}/${media.rest}`);
    for (const prefix of CLIENT_PREFIXES) forms.push(`${CLIENT_ROOT}${prefix}/media/${media.rest}`);
    return forms;
  }
  return [routePath];
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
