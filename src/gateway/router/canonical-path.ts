/**
 * Non-canonical request paths, answered with a 301 to the cleaned path as matrix-corporal (gorilla/mux)
 * does, before any routing.
 *
 * Why: Synapse does not resolve `.`/`..` segments or collapse `//` — it matches its regexes against
 * the raw path. A gateway that normalised paths before matching but forwarded the raw one would
 * police a different action from the one Synapse runs. Refusing to forward non-canonical paths at
 * all removes that class of disagreement: the client is sent to the clean path, which is then
 * routed (and policed) normally.
 *
 * Rules (Go `path.Clean` semantics, applied to raw segments split on a literal `/` only):
 * - the path must start with `/`; an empty segment (`//` anywhere, also a leading `//`) is
 *   non-canonical; a single trailing `/` is canonical;
 * - a segment whose percent-decoding is `.` or `..` is non-canonical: `.`, `%2e`, `%2E`, `..`,
 *   `.%2e`, `%2E%2e`, … (`...` is an ordinary segment, as in Go);
 * - `%2F` is not a separator: `a%2F..` is one ordinary segment, which is how Synapse sees it too.
 *
 * This function: true when `rawPath` needs no cleaning (no allocation: it runs on every request).
 */
export function isCanonicalPath(rawPath: string): boolean {
  const length = rawPath.length;
  if (length === 0 || rawPath.charCodeAt(0) !== 0x2f) return false;
  let start = 1;
  while (start <= length) {
    let end = rawPath.indexOf('/', start);
    if (end === -1) end = length;
    if (end === start) {
      // Empty segment: only allowed as the end of the path (the trailing slash, or the root "/").
      if (end !== length) return false;
    } else if (dotSegmentDots(rawPath, start, end) !== 0) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

/**
 * Go `path.Clean` on raw segments with gorilla/mux's trailing-slash rule: drop empty and `.`
 * segments, let `..` remove the previous segment (never above the root), keep a trailing `/` when
 * the input had one and the result is not the root. Segments keep their raw percent-encoding.
 */
export function cleanPath(rawPath: string): string {
  const kept: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '') continue;
    const dots = dotSegmentDots(segment, 0, segment.length);
    if (dots === 1) continue;
    if (dots === 2) {
      kept.pop();
      continue;
    }
    kept.push(segment);
  }
  const cleaned = '/' + kept.join('/');
  return cleaned !== '/' && rawPath.endsWith('/') ? cleaned + '/' : cleaned;
}

/** 1 or 2 when raw[start, end) decodes to `.` or `..`; 0 otherwise. */
function dotSegmentDots(raw: string, start: number, end: number): number {
  let dots = 0;
  let i = start;
  while (i < end) {
    if (raw.charCodeAt(i) === 0x2e) {
      i += 1;
    } else if (
      raw.charCodeAt(i) === 0x25 &&
      i + 2 < end &&
      raw.charCodeAt(i + 1) === 0x32 &&
      (raw.charCodeAt(i + 2) | 0x20) === 0x65
    ) {
      i += 3;
    } else {
      return 0;
    }
    dots++;
    if (dots > 2) return 0;
  }
  return dots;
}
