// The build farm figure (optional: root, busybox-static and Debian's buildbot
// and buildbot-worker): a real Buildbot master (examples/buildbot/master.cfg)
// and two workers on loopback build the example tree's two subarches. The
// wall time runs from the plan's trigger to both builds (build, digestgen,
// index.xml) being done; the sum of the two builds is what one host building
// them in turn would take.

import { Farm, RESULTS, farmPrerequisite, waitFor } from "../tests/support/buildbot-farm";

export async function farmBench(): Promise<Record<string, string>> {
  const missing = farmPrerequisite();
  if (missing) return { "build farm figure skipped": missing };
  const farm = new Farm([
    { name: "worker-a", subarches: ["generic", "small"] },
    { name: "worker-b", subarches: ["generic", "small"] },
  ]);
  try {
    await farm.start();
    const started = Date.now();
    farm.sendchange("metro-plan");
    const done = await waitFor("both builds", 900_000, () => {
      const builds = farm.builds().filter((b) => b.builder !== "metro-plan");
      return builds.length === 2 && builds.every((b) => b.complete_at !== null) ? builds : undefined;
    });
    const wall = (Date.now() - started) / 1000;
    if (done.some((b) => b.results !== RESULTS.SUCCESS)) throw new Error(`a farm build failed: ${JSON.stringify(done)}`);
    if (done[0]!.worker === done[1]!.worker) throw new Error("both builds ran on one worker");
    const each = done.map((b) => b.complete_at! - b.started_at);
    return {
      "build farm: 2 subarches on 2 workers, trigger to both published": `${wall.toFixed(1)} s`,
      "  the two builds (Buildbot, whole seconds)": `${each.join(" s + ")} s`,
    };
  } finally {
    await farm.stop();
    farm.remove();
  }
}
