/**
 * The file Piscina's workers load (pool.ts): a CommonJS shim that loads the real worker module,
 * tasks.ts, with `import()` and hands each task to its default export.
 *
 * Why a shim: Piscina's worker first `require()`s its file, and on Node.js 20.19+ `require()` of an
 * ES module goes through a native check (module_wrap.cc, `CreateRequiredModuleFacade`) that aborts
 * the whole process — the supervisor and every gateway thread — when the worker is terminated while
 * that module is being instantiated. A pool is destroyed whenever its gateway thread drains or is
 * restarted, so a pool that is still starting hits that window. `require()` of this CommonJS file
 * is plain, and `import()` takes the ES loader, which stops cleanly on termination.
 */
import type { TaskRequest } from './task-types.js' with { 'resolution-mode': 'import' };

/** tasks.js, loaded as soon as the worker starts so that the first task does not wait for it. */
const tasksModule = import('./tasks.js');
// If it cannot load, each task rejects with the reason (the pool answers 500 and logs it); left
// unhandled here, the rejection would kill the worker, and Piscina would start another in a loop.
tasksModule.catch(() => undefined);

/** Runs one pool task with tasks.js's default export. */
export = async function runPooledTask(request: TaskRequest): Promise<unknown> {
  const { default: runTask } = await tasksModule;
  return runTask(request);
};
