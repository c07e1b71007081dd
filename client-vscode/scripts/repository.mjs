// Where the extension's source lives, for the manifest's `repository` field
// (the marketplace links to it, and vsce asks for it): the project's own
// package.json `repository` when it names one, else the address of the
// clone's `origin` remote when that is a network address (https, ssh, git).
// A local path is nobody else's address, so it gives none.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const NETWORK = /^(https?:\/\/|ssh:\/\/|git:\/\/|git\+https:\/\/|git\+ssh:\/\/|[\w.-]+@[\w.-]+:)/;

/** The `repository` of the project at `root`, or null when it has no public address. */
export function repositoryOf(root) {
  const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).repository;
  if (typeof own === "string" && own !== "") return { type: "git", url: own };
  if (own && typeof own === "object" && typeof own.url === "string" && own.url !== "") return own;
  let url;
  try {
    url = execFileSync("git", ["-C", root, "remote", "get-url", "origin"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
  return NETWORK.test(url) ? { type: "git", url } : null;
}
