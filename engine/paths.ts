// Python's os.path.normpath, exactly: the recorded paths of collected files
// must match metro's (a path starting with exactly two slashes keeps them).

const normalised = new Map<string, string>();

/** os.path.normpath, remembered: a build matrix normalises the same few hundred paths for every context. */
export function pyNormpath(path: string): string {
  let n = normalised.get(path);
  if (n === undefined) {
    if (normalised.size > 100_000) normalised.clear();
    n = normpath(path);
    normalised.set(path, n);
  }
  return n;
}

function normpath(path: string): string {
  if (path === "") return ".";
  const initial = path.startsWith("/") ? (path.startsWith("//") && !path.startsWith("///") ? 2 : 1) : 0;
  const out: string[] = [];
  for (const comp of path.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp !== ".." || (initial === 0 && out.length === 0) || (out.length > 0 && out[out.length - 1] === "..")) out.push(comp);
    else if (out.length > 0) out.pop();
  }
  const joined = "/".repeat(initial) + out.join("/");
  return joined || ".";
}
