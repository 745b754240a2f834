/**
 * The first `shown` items joined with `, `, then `and N more` when there are others:
 * `a, b, c and 2 more`. For messages that name what they are about without growing with it.
 */
export function firstFew(items: readonly string[], shown = 5): string {
  const listed = items.slice(0, shown).join(', ');
  return items.length > shown ? `${listed} and ${items.length - shown} more` : listed;
}
