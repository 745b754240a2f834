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

/**
 * The levels named in `m.room.power_levels` content that the reconciler's actions need: `kick`,
 * `ban`, `invite`, and the level to send `m.room.power_levels` itself (its `events` entry, else
 * `state_default`).
 */
export interface NamedPowerLevels {
  kick: number;
  ban: number;
  invite: number;
  setPowerLevels: number;
}

/** Synapse's levels for those names when the content does not give them (`event_auth.get_named_level`, `get_send_level`). */
export const DEFAULT_NAMED_POWER_LEVELS: Readonly<NamedPowerLevels> = Object.freeze({ kick: 50, ban: 50, invite: 0, setPowerLevels: 50 });

/**
 * {@link NamedPowerLevels} read from power-levels `content` as Synapse reads them: an absent name
 * takes its default; a value {@link exactPowerLevel} cannot read becomes `unreadable(fallback)`,
 * the caller's choice (the gateway fails closed with NaN; the reconciler, which then compares no
 * level of the room, takes the fallback). The one place that knows Synapse's defaults and the
 * send-level rule, for both.
 */
export function namedPowerLevels(content: Readonly<Record<string, unknown>>, unreadable: (fallback: number) => number): NamedPowerLevels {
  const named = (name: string, fallback: number): number => {
    if (!Object.hasOwn(content, name)) return fallback;
    return exactPowerLevel(content[name]) ?? unreadable(fallback);
  };
  const stateDefault = named('state_default', DEFAULT_NAMED_POWER_LEVELS.setPowerLevels);
  const events = content['events'];
  const hasEventLevel = typeof events === 'object' && events !== null && !Array.isArray(events) && Object.hasOwn(events, 'm.room.power_levels');
  return {
    kick: named('kick', DEFAULT_NAMED_POWER_LEVELS.kick),
    ban: named('ban', DEFAULT_NAMED_POWER_LEVELS.ban),
    invite: named('invite', DEFAULT_NAMED_POWER_LEVELS.invite),
    setPowerLevels: hasEventLevel ? exactPowerLevel((events as Record<string, unknown>)['m.room.power_levels']) ?? unreadable(stateDefault) : stateDefault,
  };
}
