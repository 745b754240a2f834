/**
 * Runs a Python module as `python -m` would, but tied to this process's life: a small bootstrap
 * first sets `PR_SET_PDEATHSIG` (SIGKILL), so the kernel kills the Python process if the test
 * process dies without running any handler (SIGKILL, OOM kill). It then checks that its parent is
 * still the spawner (the parent may have died before the prctl) and runs the module in the same
 * interpreter. (The setting would survive an exec of an ordinary program, as `setpriv --pdeathsig`
 * relies on for the test PostgreSQL; running in place simply needs no second program.) Off Linux
 * the prctl is skipped and only the parent check remains.
 *
 * PDEATHSIG fires when the spawning *thread* ends, so spawn these from the main thread.
 */
const BOOTSTRAP = `
import ctypes, os, runpy, signal, sys
spawner, module = int(sys.argv[1]), sys.argv[2]
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != spawner:
    sys.exit("corporal test bootstrap: the process that started %s is gone" % module)
sys.argv = [module] + sys.argv[3:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
`;

/** The interpreter arguments equivalent to `-m <module> <args…>`, dying with this process. */
export function moduleArgsDyingWithParent(module: string, args: readonly string[]): string[] {
  return ['-c', BOOTSTRAP, String(process.pid), module, ...args];
}
