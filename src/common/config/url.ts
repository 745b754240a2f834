/** True when `text` is an absolute `http:` or `https:` URL with a host and no fragment. */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.hash === '';
}

/** True when the URL `text` (one {@link isHttpUrl} accepts) carries a user name or password. */
export function hasUserInfo(text: string): boolean {
  const url = new URL(text);
  return url.username !== '' || url.password !== '';
}

/**
 * The URL `text` (one {@link isHttpUrl} accepts) without its user name and password, for display:
 * `text` itself when it has neither, else re-serialised.
 */
export function withoutUserInfo(text: string): string {
  if (!hasUserInfo(text)) return text;
  const url = new URL(text);
  url.username = '';
  url.password = '';
  return url.href;
}
