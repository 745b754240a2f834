import { readFileSync } from 'node:fs';

/**
 * Corporal's version, from the package root's package.json: three levels above dist/src/cli, where
 * the compiled file runs (the TypeScript source is never run as is).
 */
export function corporalVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}
