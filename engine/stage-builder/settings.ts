// A thin, typed view of one evaluated context, as the builder needs it.
//
// The evaluator answers "what is the value of KEY"; the builder needs to ask
// "is KEY there", "give me KEY as one line (or fail with a message that names
// KEY)", "give me KEY as a script". Every failure becomes a ConfigError that
// names the key and the context, so the command line can print one clear line
// instead of a stack trace.

import { describeError } from "../system-errors";
import { evaluateContext, type EvaluatedContext, type MetroValue } from "../evaluate";
import { excerpt } from "../../language";

/** A problem with the configuration (not with the build itself): exit code 2. */
export class ConfigError extends Error {
  constructor(message: string, readonly key?: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface ContextArgs {
  config: string;
  args: Record<string, string>;
}

function describeArgs(args: Record<string, string>): string {
  const target = args["target"];
  return target === undefined ? "" : ` (target ${excerpt(target)})`;
}

export class Settings {
  private constructor(
    /** The evaluated context behind these settings. */
    readonly context: EvaluatedContext,
    readonly spec: ContextArgs,
  ) {}

  /** Evaluates a context the way metro's setup does; a fatal setup is a ConfigError. */
  static load(spec: ContextArgs): Settings {
    let context: EvaluatedContext;
    try {
      context = evaluateContext({ config: spec.config, args: { ...spec.args } }, { allowExec: true, trackReferences: true });
    } catch (error) {
      throw new ConfigError(`${spec.config}${describeArgs(spec.args)}: ${messageOf(error)}`);
    }
    if (context.fatal) {
      const range = context.fatal.range;
      const where = `${context.fatal.file ?? spec.config}${range ? `:${range.start.line + 1}:${range.start.character + 1}` : ""}`;
      throw new ConfigError(`${where}${describeArgs(spec.args)}: ${context.fatal.message}`);
    }
    return new Settings(context, spec);
  }

  get label(): string {
    return `${this.spec.config}${describeArgs(this.spec.args)}`;
  }

  has(key: string): boolean {
    try {
      return this.context.has(key);
    } catch (error) {
      throw new ConfigError(`${this.label}: cannot tell whether ${key} is defined: ${messageOf(error)}`, key);
    }
  }

  /** The raw value; a ConfigError naming the key (and where the failing element is defined) when it cannot be expanded. */
  value(key: string): MetroValue {
    try {
      return this.context.get(key);
    } catch (error) {
      const element = (error as { site?: { element?: string | null } }).site?.element ?? key;
      const where = this.definedAt(element) ?? this.definedAt(key) ?? this.label;
      const via = element !== key ? ` (while expanding ${key})` : "";
      throw new ConfigError(`${where}: ${element}: ${messageOf(error)}${via}${this.spec.args["target"] ? ` [target ${excerpt(this.spec.args["target"])}]` : ""}`, key);
    }
  }

  /** file:line:column of an element's (first) definition, if it has one in a file. */
  definedAt(key: string): string | null {
    try {
      const site = this.context.definitions(key)[0];
      if (!site) return null;
      const start = site.statement.name.range.start;
      return `${site.file}:${start.line + 1}:${start.character + 1}`;
    } catch {
      return null;
    }
  }

  /** A single-line value; undefined or a multi-line value is an error naming the key. */
  str(key: string): string {
    if (!this.has(key)) throw new ConfigError(`${this.label}: required setting ${key} is not defined`, key);
    const value = this.value(key);
    if (value === null) throw new ConfigError(`${this.label}: ${key} expands to nothing (:zap)`, key);
    if (Array.isArray(value)) throw new ConfigError(`${this.label}: ${key} is a multi-line value; a single line was expected`, key);
    return value;
  }

  /** A single-line value, or undefined when the key is not defined or is nothing. */
  optionalStr(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const value = this.value(key);
    if (value === null) return undefined;
    if (Array.isArray(value)) throw new ConfigError(`${this.label}: ${key} is a multi-line value; a single line was expected`, key);
    return value;
  }

  /** The words of metro/options (empty when undefined). */
  options(): string[] {
    return (this.optionalStr("metro/options") ?? "").split(/\s+/).filter((w) => w !== "");
  }

  /**
   * A step's script: the lines of a multi-line value. `undefined` when the
   * key is not defined (the caller decides whether the step was optional).
   */
  script(key: string): string[] | undefined {
    if (!this.has(key)) return undefined;
    const value = this.value(key);
    if (!Array.isArray(value)) {
      throw new ConfigError(`${this.label}: ${key} must be a multi-line value ([ ... ]) to be run as a step`, key);
    }
    return value;
  }
}

/** An error as a sentence (a system error in words, never its errno name). */
export function messageOf(error: unknown): string {
  return describeError(error);
}
