/**
 * CI entry: `node dist/test/support/provision-synapse-cli.js` installs (or finds) the pinned Synapse
 * virtualenv before the integration tests run, prints where it is, and exits non-zero with the
 * provisioning error's message when that fails.
 */
import { provisionSynapse } from './provision-synapse.js';

try {
  // Everything the suite needs, the PostgreSQL driver included.
  const installation = await provisionSynapse({ postgres: true });
  process.stdout.write(
    [
      `Synapse ${installation.synapseVersion} + shared-secret-authenticator ${installation.sharedSecretAuthenticatorVersion} + psycopg2-binary ${installation.psycopg2BinaryVersion}`,
      `virtualenv: ${installation.venvDir}`,
      `python:     ${installation.python} (${installation.pythonVersion})`,
      `${installation.installed ? 'installed' : 'reused'} in ${(installation.durationMs / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
