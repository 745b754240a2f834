/**
 * The client address as uWS reports it, in the usual text form: uWS writes IPv6 addresses in full
 * (`0000:0000:…:0001`) and IPv4 clients of an IPv6 listener as mapped addresses
 * (`…:ffff:7f00:0001`). These become `::1` and `127.0.0.1`, as Go (matrix-corporal) would write
 * them in `X-Forwarded-For`. IPv4 text passes through untouched.
 */
export function formatPeerAddress(text: string): string {
  if (!text.includes(':')) return text;
  const groups = text.split(':');
  if (groups.length !== 8) return text;
  const values = groups.map((group) => Number.parseInt(group, 16));
  if (values.some((value) => !Number.isInteger(value) || value < 0 || value > 0xffff)) return text;
  if (values.slice(0, 5).every((value) => value === 0) && values[5] === 0xffff) {
    const high = values[6]!;
    const low = values[7]!;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  // RFC 5952: drop leading zeros, replace the longest run (≥ 2) of zero groups with `::`.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (values[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && values[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = values.map((value) => value.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
