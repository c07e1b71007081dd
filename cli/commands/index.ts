// Every command of metro-engine, in the order `metro-engine help` lists them.
// A new command is one file in this folder and one line here.

import type { Command } from "../command";
import { buildCommand } from "./build";
import { checkCommand } from "./check";
import { dumpCommand } from "./dump";
import { fmtCommand } from "./fmt";
import { getCommand } from "./get";
import { graphCommand } from "./graph";
import { parseCommand } from "./parse";
import { repoCommand } from "./repo";

export const COMMANDS: Command[] = [parseCommand, getCommand, dumpCommand, checkCommand, fmtCommand, graphCommand, buildCommand, repoCommand];
