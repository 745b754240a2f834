import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Opening for reading without blocking. Why: `open()` of a FIFO blocks until a writer appears, and
 * it blocks a libuv thread-pool thread with it — a FIFO (or a device) put at a policy or config
 * path would hang the caller, and everything queued behind it, for good. With `O_NONBLOCK` the open
 * returns at once; the descriptor's `fstat` then says what it is, with no window between the check
 * and the read (a `stat` before `open` could be raced by a rename). `O_NONBLOCK` changes nothing for
 * reads of a regular file.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Reads a regular file as UTF-8 text (invalid sequences become U+FFFD, as Go's decoder does),
 * refusing one larger than `maxBytes` — by its size before reading, and by the bytes read, should
 * it grow meanwhile — so a runaway file cannot exhaust memory. Memory grows with the file, not
 * with the limit. Never blocks on what is not a regular file: a FIFO, device or directory is refused
 * at once with an error naming what it is (`… is not a regular file (it is a FIFO)`). Errors from
 * `open` (ENOENT, EACCES, ENXIO for a socket, …) are passed on unchanged.
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<string> {
  const tooLarge = (): Error => new Error(`${path} is larger than ${maxBytes} bytes`);
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path} is not a regular file (it is ${fileKind(stats)})`);
    if (stats.size > maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1 - length, Math.max(stats.size + 1 - length, 64 * 1024)));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw tooLarge();
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** What a non-regular file is, for the refusal message. */
function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'of an unknown type';
}
