import { readFileSync } from 'node:fs';

/** Corporal's version, from package.json (two levels above dist/src/cli or src/cli). */
export function corporalVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}
