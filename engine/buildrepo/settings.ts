// What buildrepo reads from the metro configuration (MetroSetup().getSettings()
// with no command-line values): path/mirror, and for digestgen the mirror's
// owner and group. Evaluated by the engine's own evaluator.

import { EvaluationError, evaluateContext, type EvaluatedContext } from "../evaluate";

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}

export interface MetroSettings {
  /** path/mirror exactly as configured (a trailing slash stays: buildrepo prints it as "//"). */
  mirror: string;
  /** A setting as buildrepo's settings[key] reads it; throws ConfigError where buildrepo raises. */
  get(key: string): string;
}

function describe(key: string, e: unknown): ConfigError {
  if (e instanceof EvaluationError) {
    const where = e.site.element && e.site.element !== key ? ` (in ${e.site.element})` : "";
    return new ConfigError(`${key}: ${e.message}${where} [${e.code}]`);
  }
  throw e;
}

export function readMetroSettings(config: string, allowExec: boolean): MetroSettings {
  const ctx: EvaluatedContext = evaluateContext({ config, args: {} }, { allowExec });
  if (ctx.fatal) {
    const f = ctx.fatal;
    throw new ConfigError(`${f.message} [${f.code}]`, f.file, f.range ? f.range.start.line + 1 : undefined, f.range ? f.range.start.character + 1 : undefined);
  }
  const get = (key: string): string => {
    let v;
    try {
      v = ctx.get(key);
    } catch (e) {
      throw describe(key, e);
    }
    if (Array.isArray(v)) throw new ConfigError(`${key} is a multi-line value; buildrepo needs a single line`);
    return v ?? "";
  };
  // MetroSetup reads portage/MAKEOPTS while setting up: a configuration without it stops there.
  get("portage/MAKEOPTS");
  return { mirror: get("path/mirror"), get };
}
