/** `3 errors`, `1 error`: a count with its noun, plural unless the count is 1 (English, `s` only). */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
