import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `AbortSignal.any` must not be used in Corporal's sources. On Node 20 every call over a
 * long-lived signal (a client's "closing" signal, a provider's stop signal) leaves an entry in that
 * signal's set of dependants for good: the soak test (soak-9) watched the control child's Synapse
 * client gain one per call, about 66 bytes each, and a Set refuses more than 2^24 entries, after
 * which every call would throw. `withDeadline` (common/deadline.ts) links signals and removes the
 * link when the call ends.
 */
const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

t.test('no source calls AbortSignal.any', async (t) => {
  const files = sourceFiles(SRC);
  t.ok(files.length > 100, `${files.length} source files read`);
  const calls = files.filter((file) => /AbortSignal\.any\s*\(/.test(readFileSync(file, 'utf8')));
  t.same(calls.map((file) => file.slice(SRC.length)), []);
});
