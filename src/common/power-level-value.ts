/**
 * An ASCII decimal integer with ASCII whitespace around: Python `int()` reads it the same way. 15
 * digits keep it exact in a double.
 */
const EXACT_INTEGER_STRING = /^[\t\n\v\f\r ]*[+-]?[0-9]{1,15}[\t\n\v\f\r ]*$/;

/**
 * The power level Synapse reads from an `m.room.power_levels` value (Python `int(value)`), when it
 * can be told exactly: a JSON number that is a safe integer (Synapse's canonical-JSON range,
 * ±(2^53−1); a float such as `50.0` has already become 50, as `int(50.0)` does), or (room versions
 * before 10) a string of at most 15 ASCII digits with an optional sign and ASCII whitespace around.
 * Anything else is `undefined`: unknown, never a guess. `int()` also reads `"5_0"` (50), full-width
 * digits, `50.5` and `true` (red team 12, F4); copying it would be easy to get wrong. Shared by the
 * reconciler's observer and the gateway's power-levels check, which must agree.
 */
export function exactPowerLevel(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && EXACT_INTEGER_STRING.test(value)) return Number(value);
  return undefined;
}
