// The CLI's workspaces size V8's young generation by what a run reads
// (engine/heap.ts): kept at its first size from the start (start.ts), it holds
// far less memory for a build tree (the 100,000-element benchmark: 146 ->
// 114 MB, as fast or faster); a tree of hundreds of thousands of elements is
// faster with V8's usual growth, so once that much is read the run gets it
// back.

import { letYoungGenerationGrow } from "../engine/heap";
import { Workspace, type WorkspaceOptions } from "../engine/workspace";

/** Bytes of Metro files read from which a run gets V8's usual growth (about 400,000 elements). */
const LARGE_TREE_BYTES = 16 * 1024 * 1024;
let usual = false;

function youngGenerationFor(bytesRead: number): void {
  if (usual || bytesRead < LARGE_TREE_BYTES) return;
  usual = true;
  letYoungGenerationGrow();
}

/** A workspace for a command's contexts, telling the heap's sizing what it reads. */
export function commandWorkspace(options: WorkspaceOptions = {}): Workspace {
  return new Workspace({ ...options, onBytesRead: youngGenerationFor });
}
