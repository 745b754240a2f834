import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** Linux's own bound on symlinks followed in one resolution (MAXSYMLINKS); a longer chain is a loop. */
const MAX_LINK_HOPS = 40;

/**
 * Which directories to watch for a policy path, and which names in each can concern it: a map from
 * directory to names. It holds the directory of `path` and of every symlink it goes through (a
 * chain, possibly), and the directory of the file it finally resolves to (when it does not resolve:
 * of the last target named, where it may appear). A directory's names are
 * the first components, within it, of every path on the way: the link's own name, its target's
 * (for a Kubernetes ConfigMap `policy.json → ..data/policy.json` that is `..data`), the resolved
 * file's name. Never throws: a link that cannot be read or a target that does not exist (yet) ends
 * the chain where it is, so at least the directory of `path` is always in the plan.
 */
export async function watchPlanOf(path: string): Promise<Map<string, Set<string>>> {
  const onTheWay = [path];
  let current = path;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    let target: string;
    try {
      target = await readlink(current);
    } catch {
      break; // EINVAL: not a link, the chain ends here; ENOENT and others: nothing more to follow
    }
    current = resolve(dirname(current), target);
    onTheWay.push(current);
  }
  const directories = onTheWay.slice(0, -1).map((link) => dirname(link));
  try {
    const real = await realpath(path);
    onTheWay.push(real);
    directories.push(dirname(real));
  } catch {
    // Dangling or looping: the last target named may appear in its directory.
    directories.push(dirname(current));
  }
  const plan = new Map<string, Set<string>>();
  for (const directory of directories) {
    const names = plan.get(directory) ?? new Set<string>();
    for (const onPath of onTheWay) {
      const name = firstComponentWithin(directory, onPath);
      if (name !== null) names.add(name);
    }
    names.add(basename(directory)); // the directory itself removed or renamed: reported under its own name
    plan.set(directory, names);
  }
  return plan;
}

/** The first component of `path` below `directory`, or null when `path` is not below it. */
function firstComponentWithin(directory: string, path: string): string | null {
  const rest = relative(directory, path);
  if (rest === '' || rest === '..' || rest.startsWith(`..${sep}`) || isAbsolute(rest)) return null;
  return rest.split(sep)[0] ?? null;
}
