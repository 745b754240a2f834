import { open } from 'node:fs/promises';

/**
 * Reads a regular file as UTF-8 text (invalid sequences become U+FFFD, as Go's decoder does),
 * refusing one larger than `maxBytes` — by its size before reading, and by the bytes read, should
 * it grow meanwhile — so a runaway file cannot exhaust memory. Memory grows with the file, not
 * with the limit. Errors from `open` (ENOENT, EACCES, …) are passed on unchanged.
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<string> {
  const tooLarge = (): Error => new Error(`${path} is larger than ${maxBytes} bytes`);
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path} is not a regular file`);
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
