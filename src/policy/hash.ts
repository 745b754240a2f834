import { createHash, type Hash } from 'node:crypto';
import type { PolicyDocument, PolicyUser } from './types.js';

/** Serialised text is handed to the hash in chunks of about this many characters. */
const CHUNK = 1 << 16;

/**
 * sha256 (hex) of a canonical serialisation of a normalised, validated policy. Identical content
 * gives an identical hash whatever the key order or spelling of the source:
 *
 * - every object is written as JSON with its keys sorted (no whitespace), except that
 * - `users` is written as an array of fixed-order tuples, `[id, active, authType, authCredential,
 *   displayName, avatarUri, [[roomId, powerLevel], …], forbidRoomCreation,
 *   forbidEncryptedRoomCreation, forbidUnencryptedRoomCreation, powerLevelsManaged]`, because
 *   sorting the keys of a million small objects costs seconds on large policies.
 *
 * The text is streamed into the hash in chunks; no single large string is built.
 */
export function hashPolicy(document: PolicyDocument): string {
  const writer = new ChunkedWriter(createHash('sha256'));
  const { users, ...rest } = document;
  writer.write('{"users":[');
  const quotedRooms = new Map<string, string>();
  users.forEach((user, index) => {
    if (index > 0) writer.write(',');
    writer.write(userTuple(user, quotedRooms));
  });
  writer.write('],"rest":');
  writeCanonical(rest, writer);
  writer.write('}');
  return writer.finish();
}

function userTuple(user: PolicyUser, quotedRooms: Map<string, string>): string {
  let rooms = '';
  for (const room of user.joinedRooms) {
    // Room ids repeat across users: quote each distinct one once.
    let quoted = quotedRooms.get(room.roomId);
    if (quoted === undefined) {
      quoted = JSON.stringify(room.roomId);
      quotedRooms.set(room.roomId, quoted);
    }
    rooms += `${rooms === '' ? '' : ','}[${quoted},${JSON.stringify(room.powerLevel)}]`;
  }
  return `[${JSON.stringify(user.id)},${String(user.active)},${JSON.stringify(user.authType)},${JSON.stringify(user.authCredential)},`
    + `${JSON.stringify(user.displayName)},${JSON.stringify(user.avatarUri)},[${rooms}],${String(user.forbidRoomCreation)},`
    + `${String(user.forbidEncryptedRoomCreation)},${String(user.forbidUnencryptedRoomCreation)},${String(user.powerLevelsManaged)}]`;
}

class ChunkedWriter {
  private buffer = '';

  constructor(private readonly hash: Hash) {}

  write(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= CHUNK) {
      this.hash.update(this.buffer, 'utf8');
      this.buffer = '';
    }
  }

  finish(): string {
    this.hash.update(this.buffer, 'utf8');
    return this.hash.digest('hex');
  }
}

/** JSON with sorted keys; `undefined` members are skipped (as JSON.stringify does). */
function writeCanonical(value: unknown, out: ChunkedWriter): void {
  if (Array.isArray(value)) {
    out.write('[');
    value.forEach((item: unknown, index) => {
      if (index > 0) out.write(',');
      writeCanonical(item === undefined ? null : item, out);
    });
    out.write(']');
    return;
  }
  if (typeof value === 'object' && value !== null) {
    out.write('{');
    let first = true;
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      out.write(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      writeCanonical(member, out);
    }
    out.write('}');
    return;
  }
  out.write(JSON.stringify(value) ?? 'null');
}
