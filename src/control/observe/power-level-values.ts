/**
 * Reading `m.room.power_levels` values exactly as Synapse does, or not at all (red team 12, F4).
 *
 * Synapse reads a level with Python `int(value)`. In room versions 10 and later
 * (`enforce_int_power_levels`) only JSON integers can be in the event; in versions 1–9 an event from
 * a remote server may also hold strings that `int()` accepts in ways a simple parser gets wrong
 * (`"5_0"` = 50, full-width `"５０"` = 50, `" 50 "`), floats (`50.5` = 50, versions 1–5) and booleans
 * (`true` = 1). Rather than copy `int()` (Unicode digits, underscores, whitespace classes), Corporal
 * reads only what it can read exactly and treats the rest as unknown (`exactPowerLevel`,
 * common/power-level-value.ts, shared with the gateway's `parsePowerLevel`). This file names the
 * fields Synapse would refuse in a new event.
 */

/** Fields of power-levels content that Synapse's `POWER_LEVELS_SCHEMA` requires to be integers. */
const INTEGER_FIELDS: readonly string[] = ['ban', 'events_default', 'invite', 'kick', 'redact', 'state_default', 'users_default'];
/** Fields that must be objects of integers. */
const INTEGER_MAP_FIELDS: readonly string[] = ['events', 'notifications', 'users'];

/**
 * The fields of power-levels `content` that Synapse refuses in a new local event
 * (`EventValidator.validate_new`, `POWER_LEVELS_SCHEMA`: integers within ±(2^53−1), in every room
 * version): each value that is not a JSON safe integer, as `kick` or `users["@x:hs"]`, and each of
 * `events`, `notifications`, `users` that is not an object. Corporal's write of the room's power
 * levels carries the whole content, so Synapse refuses it while this is not empty — also for a
 * string such as `"50"` that Corporal can read. Empty for a room whose event came from Synapse's
 * own client API.
 */
export function nonIntegerLevelFields(content: Readonly<Record<string, unknown>>): string[] {
  const fields: string[] = [];
  const isInteger = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value);
  for (const name of INTEGER_FIELDS) {
    if (Object.hasOwn(content, name) && !isInteger(content[name])) fields.push(name);
  }
  for (const name of INTEGER_MAP_FIELDS) {
    if (!Object.hasOwn(content, name)) continue;
    const map = content[name];
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      fields.push(name);
      continue;
    }
    for (const [key, value] of Object.entries(map)) if (!isInteger(value)) fields.push(`${name}[${JSON.stringify(key)}]`);
  }
  return fields;
}
