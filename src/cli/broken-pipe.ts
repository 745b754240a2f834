/**
 * Makes a report command (`check`, `plan`) survive a reader that goes away (`corporal check | head`):
 * on EPIPE the stream's later writes become no-ops, and the command runs to its end and exits with
 * its own code. Exiting at the EPIPE instead would cut the command short with whatever code was set
 * so far — 0 while a check is still running — and `set -o pipefail; corporal check | head` in a
 * deploy gate would then pass a broken policy. Any other stream error is rethrown. Not for `serve`,
 * whose stdout is its log.
 */
export function dropOutputOnBrokenPipe(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}
