// Tokenizes Metro samples with the TextMate grammar (the same engine VS Code
// uses: vscode-textmate on the Oniguruma WebAssembly build) and checks the
// scopes of specific tokens.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vsctm from "vscode-textmate";
import * as oniguruma from "vscode-oniguruma";

const GRAMMAR_PATH = join(__dirname, "..", "..", "grammars", "metro.tmLanguage.json");

interface Token {
  text: string;
  start: number;
  end: number;
  scopes: string[];
}

/** The tokens of each line of `source`, carrying the rule stack across lines. */
type Tokenized = { lines: string[]; tokens: Token[][] };

function tokenize(grammar: vsctm.IGrammar, source: string): Tokenized {
  const lines = source.split("\n");
  const tokens: Token[][] = [];
  let stack = vsctm.INITIAL;
  for (const line of lines) {
    const result = grammar.tokenizeLine(line, stack);
    tokens.push(result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), start: t.startIndex, end: t.endIndex, scopes: t.scopes })));
    stack = result.ruleStack;
  }
  return { lines, tokens };
}

/**
 * The tokens that cover the text `needle` (its `nth` occurrence) on line
 * `line`. A needle may span several tokens (a comment is "#" plus its text).
 */
function tokensAt(doc: Tokenized, line: number, needle: string, nth = 0): Token[] {
  const text = doc.lines[line];
  assert.ok(text !== undefined, `no line ${line}`);
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    assert.ok(index >= 0, `${JSON.stringify(needle)} (occurrence ${nth}) not on line ${line}: ${JSON.stringify(text)}`);
  }
  const end = index + needle.length;
  const covering = doc.tokens[line].filter((t) => t.start < end && index < t.end);
  assert.ok(covering.length > 0, `no token at ${line}:${index}`);
  return covering;
}

function describeTokens(tokens: Token[]): string {
  return tokens.map((t) => `${JSON.stringify(t.text)}: ${t.scopes.join(" ")}`).join("; ");
}

/** Every token of the needle has `scope`. */
function expectScope(doc: Tokenized, line: number, needle: string, scope: string, nth = 0): void {
  const tokens = tokensAt(doc, line, needle, nth);
  assert.ok(
    tokens.every((t) => t.scopes.includes(scope)),
    `${JSON.stringify(needle)} on line ${line} should have ${scope}; ${describeTokens(tokens)}`,
  );
}

/** No token of the needle has `scope`. */
function expectNoScope(doc: Tokenized, line: number, needle: string, scope: string, nth = 0): void {
  const tokens = tokensAt(doc, line, needle, nth);
  assert.ok(
    tokens.every((t) => !t.scopes.includes(scope)),
    `${JSON.stringify(needle)} on line ${line} should not have ${scope}; ${describeTokens(tokens)}`,
  );
}

/** No token of the needle has a scope beginning with `prefix`. */
function expectNoScopeStartingWith(doc: Tokenized, line: number, needle: string, prefix: string): void {
  const tokens = tokensAt(doc, line, needle);
  assert.ok(
    tokens.every((t) => !t.scopes.some((s) => s.startsWith(prefix))),
    `${JSON.stringify(needle)} on line ${line} should have no ${prefix}* scope; ${describeTokens(tokens)}`,
  );
}

/** The needle is exactly one token (a name is not split into pieces). */
function expectSingleToken(doc: Tokenized, line: number, needle: string, nth = 0): void {
  const tokens = tokensAt(doc, line, needle, nth);
  assert.equal(tokens.length, 1, `${JSON.stringify(needle)} on line ${line} is split: ${describeTokens(tokens)}`);
  assert.equal(tokens[0].text, needle, `${JSON.stringify(needle)} on line ${line} is part of a larger token: ${describeTokens(tokens)}`);
}

// Minimal stand-ins for the shell and Python grammars. Each has a multi-line
// string that, left open, would swallow every following line if the Metro
// grammar let an embedded rule decide where a block ends.
const STUB_SHELL = {
  scopeName: "source.shell",
  patterns: [{ name: "string.quoted.double.shell", begin: '"', end: '"' }],
  repository: {},
};
const STUB_PYTHON = {
  scopeName: "source.python",
  patterns: [{ name: "string.quoted.docstring.python", begin: '"""', end: '"""' }],
  repository: {},
};

async function loadMetroGrammar(withEmbedded: boolean): Promise<vsctm.IGrammar> {
  await oniguruma.loadWASM(readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName: string) => {
      if (scopeName === "source.metro") return vsctm.parseRawGrammar(readFileSync(GRAMMAR_PATH, "utf8"), GRAMMAR_PATH);
      if (withEmbedded && scopeName === "source.shell") return vsctm.parseRawGrammar(JSON.stringify(STUB_SHELL), "shell.json");
      if (withEmbedded && scopeName === "source.python") return vsctm.parseRawGrammar(JSON.stringify(STUB_PYTHON), "python.json");
      return null;
    },
  });
  const grammar = await registry.loadGrammar("source.metro");
  assert.ok(grammar, "the registry could not load source.metro");
  return grammar;
}

describe("TextMate grammar (grammars/metro.tmLanguage.json)", () => {
  let grammar: vsctm.IGrammar;
  let withEmbedded: vsctm.IGrammar;

  before(async () => {
    grammar = await loadMetroGrammar(false);
    withEmbedded = await loadMetroGrammar(true);
  });

  it("declares scopeName source.metro", () => {
    const raw = JSON.parse(readFileSync(GRAMMAR_PATH, "utf8")) as { scopeName: string };
    assert.equal(raw.scopeName, "source.metro");
    const doc = tokenize(grammar, "a: b");
    assert.equal(doc.tokens[0][0].scopes[0], "source.metro");
  });

  describe("annotations", () => {
    it("[section NAME when NAME is VALUES]", () => {
      const doc = tokenize(grammar, "[section target when build is stage3 stage4]");
      expectScope(doc, 0, "[", "punctuation.definition.annotation.begin.metro");
      expectScope(doc, 0, "section", "keyword.control.section.metro");
      expectScope(doc, 0, "target", "entity.name.section.metro");
      expectSingleToken(doc, 0, "target");
      expectScope(doc, 0, "when", "keyword.control.when.metro");
      expectScope(doc, 0, "build", "variable.other.condition.metro");
      expectScope(doc, 0, "is", "keyword.operator.comparison.metro");
      expectScope(doc, 0, "stage3 stage4", "string.unquoted.value.metro");
      expectScope(doc, 0, "]", "punctuation.definition.annotation.end.metro");
    });

    it("[when NAME in VALUES], [when *] and a plain [section NAME] with a comment", () => {
      const doc = tokenize(grammar, ["[when arch in amd64 x86]", "[when *]", "[section path] # mirrors"].join("\n"));
      expectScope(doc, 0, "when", "keyword.control.when.metro");
      expectScope(doc, 0, "arch", "variable.other.condition.metro");
      expectScope(doc, 0, "in", "keyword.operator.comparison.metro");
      expectScope(doc, 1, "*", "keyword.operator.wildcard.metro");
      expectScope(doc, 2, "path", "entity.name.section.metro");
      expectScope(doc, 2, "# mirrors", "comment.line.number-sign.metro");
    });

    it("[collect PATH when COND]: the path is a path with references, the condition is a condition", () => {
      const doc = tokenize(grammar, "[collect ../targets/$[target]/stage.spec when build is stage3]");
      expectScope(doc, 0, "collect", "keyword.control.collect.metro");
      expectScope(doc, 0, "../targets/", "string.unquoted.path.metro");
      expectScope(doc, 0, "target", "variable.other.reference.metro", 1);
      expectScope(doc, 0, "target", "string.unquoted.path.metro", 1);
      expectScope(doc, 0, "/stage.spec", "string.unquoted.path.metro");
      expectScope(doc, 0, "when", "keyword.control.when.metro");
      expectScope(doc, 0, "build", "variable.other.condition.metro");
    });

    it("[option parse/lax] and [option parse/strict]; an unknown option is invalid", () => {
      const doc = tokenize(grammar, ["[option parse/lax]", "[option parse/strict]", "[option parse/sloppy]"].join("\n"));
      expectScope(doc, 0, "option", "keyword.control.option.metro");
      expectScope(doc, 0, "parse/lax", "constant.language.option.metro");
      expectScope(doc, 1, "parse/strict", "constant.language.option.metro");
      expectScope(doc, 2, "parse/sloppy", "invalid.illegal.option.metro");
      expectNoScope(doc, 2, "parse/sloppy", "constant.language.option.metro");
    });

    it("marks what the reference rejects as fatal", () => {
      const doc = tokenize(grammar, ["[foo bar]", "[section a b]", "[section s]  # two spaces", "[collect p when]"].join("\n"));
      expectScope(doc, 0, "foo bar", "invalid.illegal.annotation.metro");
      expectScope(doc, 1, "b", "invalid.illegal.annotation.metro");
      expectScope(doc, 2, " ", "invalid.illegal.whitespace.metro", 2);
      expectScope(doc, 3, "when", "invalid.illegal.annotation.metro");
    });

    it("is not an annotation when a comment word comes before the closing bracket", () => {
      // Words "[section", "a", "#b]": the comment leaves "[section a", whose last word has no "]".
      const doc = tokenize(grammar, "[section a #b]");
      expectNoScope(doc, 0, "section", "keyword.control.section.metro");
      expectScope(doc, 0, "#b]", "comment.line.number-sign.metro");
    });
  });

  describe("single-line elements", () => {
    it("scopes the name, the colon and the value", () => {
      const doc = tokenize(grammar, ["path/mirror: /home/mirror", "a:: x", "blank:"].join("\n"));
      expectScope(doc, 0, "path/mirror", "variable.other.metro");
      expectSingleToken(doc, 0, "path/mirror");
      expectScope(doc, 0, ":", "punctuation.separator.key-value.metro");
      expectScope(doc, 0, "/home/mirror", "string.unquoted.value.metro");
      // The name is the first word without its last colon: "a::" defines "a:".
      expectScope(doc, 1, "a:", "variable.other.metro");
      expectScope(doc, 1, ":", "punctuation.separator.key-value.metro", 1);
      expectScope(doc, 2, "blank", "variable.other.metro");
    });

    it("does not take key:value or key:<TAB>value for elements", () => {
      const doc = tokenize(grammar, ["key:value", "key:\tvalue", "foo bar", "key: value"].join("\n"));
      expectNoScope(doc, 0, "key", "variable.other.metro");
      expectNoScope(doc, 1, "key", "variable.other.metro");
      expectNoScope(doc, 2, "foo", "variable.other.metro");
      expectScope(doc, 3, "key", "variable.other.metro");
    });
  });

  describe("references", () => {
    const sample = "x: $[a] $[b:zap] $[c:lax] $[d?] $[:rel] $[] $[e:zap?] $[u?:zap] $[:zap]";

    it("scopes the punctuation and the name of $[name]", () => {
      const doc = tokenize(grammar, sample);
      expectScope(doc, 0, "$[", "punctuation.definition.reference.begin.metro");
      expectScope(doc, 0, "a", "variable.other.reference.metro");
      expectScope(doc, 0, "a", "meta.reference.metro");
      expectScope(doc, 0, "]", "punctuation.definition.reference.end.metro");
    });

    it("scopes :zap and :lax as modifiers, apart from the name", () => {
      const doc = tokenize(grammar, sample);
      expectScope(doc, 0, "b", "variable.other.reference.metro");
      expectSingleToken(doc, 0, "b");
      expectScope(doc, 0, "zap", "storage.modifier.metro");
      expectSingleToken(doc, 0, "zap");
      expectScope(doc, 0, ":", "punctuation.separator.modifier.metro", 1);
      expectScope(doc, 0, "lax", "storage.modifier.metro");
      expectNoScope(doc, 0, "c", "storage.modifier.metro");
    });

    it("scopes the boolean ?, the relative :name and $[]", () => {
      const doc = tokenize(grammar, sample);
      expectScope(doc, 0, "d", "variable.other.reference.metro");
      expectScope(doc, 0, "?", "keyword.operator.boolean.metro");
      expectScope(doc, 0, "rel", "variable.other.reference.metro");
      expectScope(doc, 0, ":", "keyword.operator.relative.metro", 3);
      expectScope(doc, 0, "$[]", "meta.reference.metro");
      // $[e:zap?] is a boolean zap reference.
      expectScope(doc, 0, "zap", "storage.modifier.metro", 1);
      expectScope(doc, 0, "?", "keyword.operator.boolean.metro", 1);
      // $[u?:zap] is a zap reference to the element "u?".
      expectScope(doc, 0, "u?", "variable.other.reference.metro");
      // $[:zap] names SECTION/zap: "zap" is a name here, not a modifier.
      expectScope(doc, 0, "zap", "variable.other.reference.metro", 3);
      expectNoScope(doc, 0, "zap", "storage.modifier.metro", 3);
    });

    it("marks an unknown modifier and an unterminated $[ as invalid", () => {
      const doc = tokenize(grammar, ["x: $[a:bad]", "y: $[open"].join("\n"));
      expectScope(doc, 0, "bad", "invalid.illegal.modifier.metro");
      expectScope(doc, 1, "$[", "invalid.illegal.unterminated-reference.metro");
    });

    it("copies $[[ literally in a single-line value, and the scan goes on after it", () => {
      const doc = tokenize(grammar, "x: $[[foo]] $[b]");
      expectNoScope(doc, 0, "foo", "variable.other.reference.metro");
      expectNoScopeStartingWith(doc, 0, "foo", "meta.reference");
      expectScope(doc, 0, "b", "variable.other.reference.metro");
    });
  });

  describe("file values", () => {
    it("scopes << and the path of a '<< PATH' value", () => {
      const doc = tokenize(grammar, ["snapshot: << /mirror/$[target]/list", "two: <<  /f", "more: << /f x"].join("\n"));
      expectScope(doc, 0, "<<", "keyword.operator.file.metro");
      expectScope(doc, 0, "/mirror/", "string.unquoted.path.metro");
      expectScope(doc, 0, "target", "variable.other.reference.metro");
      // Two spaces or a third word make it plain text.
      expectNoScope(doc, 1, "<<", "keyword.operator.file.metro");
      expectNoScope(doc, 2, "<<", "keyword.operator.file.metro");
    });
  });

  describe("comments", () => {
    it("starts a comment at a word beginning with #, but not inside a word", () => {
      const doc = tokenize(grammar, ["# whole line", "  # indented", "a: b # note", "c: a#b", "d: #e", "f: $[x #y]"].join("\n"));
      expectScope(doc, 0, "# whole line", "comment.line.number-sign.metro");
      expectScope(doc, 1, "# indented", "comment.line.number-sign.metro");
      expectScope(doc, 2, "#", "punctuation.definition.comment.metro");
      expectScope(doc, 2, " note", "comment.line.number-sign.metro");
      expectNoScope(doc, 2, "b", "comment.line.number-sign.metro");
      expectNoScope(doc, 3, "a#b", "comment.line.number-sign.metro");
      expectScope(doc, 3, "a#b", "string.unquoted.value.metro");
      expectScope(doc, 4, "#e", "comment.line.number-sign.metro");
      // The comment cuts the reference short: "$[x" is unterminated.
      expectScope(doc, 5, "#y]", "comment.line.number-sign.metro");
      expectScope(doc, 5, "$[", "invalid.illegal.unterminated-reference.metro");
    });

    it("applies the same rule on lines that define nothing", () => {
      const doc = tokenize(grammar, ["foo a#b", "foo bar # note"].join("\n"));
      expectNoScope(doc, 0, "#b", "comment.line.number-sign.metro");
      expectScope(doc, 1, "# note", "comment.line.number-sign.metro");
    });
  });

  describe("multi-line blocks", () => {
    const block = [
      "steps/run: [ # the chroot script", // 0
      "#!/bin/bash", // 1
      "echo $[target/name] > /etc/motd", // 2
      "$[[steps/setup]]", // 3
      "  $[[steps/extra:lax]]", // 4
      "$[[steps/$[target]]]", // 5
      "echo $[[not/alone]]", // 6
      "<< /etc/resolv.conf", // 7
      "]", // 8
      "after: x", // 9
    ].join("\n");

    it("scopes the start line: name, colon, bracket and comment", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 0, "steps/run", "variable.other.metro");
      expectScope(doc, 0, "steps/run", "meta.block.multi-line.metro");
      expectScope(doc, 0, "[", "punctuation.definition.block.begin.metro");
      expectScope(doc, 0, "# the chroot script", "comment.line.number-sign.metro");
    });

    it("embeds shell in the body, without Metro comments", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 1, "#!/bin/bash", "meta.embedded.block.shell");
      expectNoScope(doc, 1, "#!/bin/bash", "comment.line.number-sign.metro");
      expectScope(doc, 2, "echo ", "meta.embedded.block.shell");
    });

    it("keeps Metro scopes for references inside the shell body", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 2, "target/name", "variable.other.reference.metro");
      expectScope(doc, 2, "target/name", "meta.embedded.block.shell");
      expectScope(doc, 2, "$[", "punctuation.definition.reference.begin.metro");
    });

    it("scopes $[[name]] lines as multi-line references, with :lax and nested references", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 3, "$[[", "punctuation.definition.reference.begin.metro");
      expectScope(doc, 3, "steps/setup", "variable.other.reference.metro");
      expectSingleToken(doc, 3, "steps/setup");
      expectScope(doc, 3, "steps/setup", "meta.reference.multi-line.metro");
      expectScope(doc, 3, "]]", "punctuation.definition.reference.end.metro");
      expectScope(doc, 4, "steps/extra", "variable.other.reference.metro");
      expectScope(doc, 4, "lax", "storage.modifier.metro");
      expectScope(doc, 5, "target", "meta.reference.metro");
      expectScope(doc, 5, "]]", "punctuation.definition.reference.end.metro", 1);
      // Not on a line of its own: $[[ is literal text.
      expectNoScopeStartingWith(doc, 6, "not/alone", "meta.reference");
    });

    it("scopes a '<< PATH' body line as a file value", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 7, "<<", "keyword.operator.file.metro");
      expectScope(doc, 7, "/etc/resolv.conf", "string.unquoted.path.metro");
    });

    it("ends at a line that is just ] and goes back to top-level lines", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 8, "]", "punctuation.definition.block.end.metro");
      expectNoScope(doc, 8, "]", "meta.embedded.block.shell");
      expectScope(doc, 9, "after", "variable.other.metro");
      expectNoScope(doc, 9, "after", "meta.block.multi-line.metro");
    });

    it("ends at an indented ] but not at '] x'", () => {
      const doc = tokenize(grammar, ["a: [", "] x", "  ]  ", "b: y"].join("\n"));
      expectScope(doc, 1, "] x", "meta.embedded.block.shell");
      expectScope(doc, 2, "]", "punctuation.definition.block.end.metro");
      expectScope(doc, 3, "b", "variable.other.metro");
    });

    it("does not start a block on look-alike lines", () => {
      const doc = tokenize(grammar, ["two:  [", "note: [  # comment", "next: value"].join("\n"));
      expectNoScope(doc, 0, "[", "punctuation.definition.block.begin.metro");
      expectScope(doc, 0, "[", "string.unquoted.value.metro");
      expectNoScope(doc, 1, "[", "punctuation.definition.block.begin.metro");
      expectScope(doc, 2, "next", "variable.other.metro");
      expectNoScope(doc, 2, "next", "meta.embedded.block.shell");
    });
  });

  describe("<?python blocks", () => {
    const block = [
      "files/motd: [", // 0
      "echo start", // 1
      "<?python ignored text", // 2
      'print("$[not/a/reference]")', // 3
      "?> ignored", // 4
      "echo $[back/in/shell]", // 5
      "]", // 6
    ].join("\n");

    it("embeds Python between <?python and ?>", () => {
      const doc = tokenize(grammar, block);
      expectScope(doc, 2, "<?python", "punctuation.section.embedded.begin.metro");
      expectScope(doc, 3, "print", "meta.embedded.block.python");
      expectNoScope(doc, 3, "print", "meta.embedded.block.shell");
      expectScope(doc, 4, "?>", "punctuation.section.embedded.end.metro");
    });

    it("does not scope $[...] inside Python as a reference (Metro runs it verbatim)", () => {
      const doc = tokenize(grammar, block);
      expectNoScope(doc, 3, "not/a/reference", "variable.other.reference.metro");
      expectScope(doc, 3, "not/a/reference", "meta.embedded.block.python");
    });

    it("returns to shell after ?> and needs <?python as the first word", () => {
      const doc = tokenize(grammar, [...block.split("\n").slice(0, 6), " <?python", "x", "]"].join("\n"));
      expectScope(doc, 5, "back/in/shell", "variable.other.reference.metro");
      expectScope(doc, 5, "echo", "meta.embedded.block.shell");
      // A leading space makes the first single-space word empty: still shell.
      expectScope(doc, 6, "<?python", "meta.embedded.block.shell");
      expectNoScope(doc, 7, "x", "meta.embedded.block.python");
    });
  });

  describe("with embedded shell and Python grammars", () => {
    it("scopes references inside shell strings with their Metro scopes", () => {
      const doc = tokenize(withEmbedded, ["a: [", 'echo "x $[name:zap] y"', "]"].join("\n"));
      expectScope(doc, 1, "x", "string.quoted.double.shell");
      expectScope(doc, 1, "name", "variable.other.reference.metro");
      expectScope(doc, 1, "name", "string.quoted.double.shell");
      expectScope(doc, 1, "zap", "storage.modifier.metro");
    });

    it("ends the block at ] even inside an unterminated shell string", () => {
      const doc = tokenize(withEmbedded, ["a: [", 'echo "open', "still open", "]", "b: c"].join("\n"));
      expectScope(doc, 2, "still open", "string.quoted.double.shell");
      expectScope(doc, 3, "]", "punctuation.definition.block.end.metro");
      expectNoScope(doc, 3, "]", "string.quoted.double.shell");
      expectScope(doc, 4, "b", "variable.other.metro");
    });

    it("ends Python at ?> even inside an unterminated Python string, and the block at ]", () => {
      const doc = tokenize(
        withEmbedded,
        ["a: [", "<?python", 'x = """open', "?>", "echo $[n]", "<?python", 'y = """open', "]", "b: c"].join("\n"),
      );
      expectScope(doc, 2, "open", "string.quoted.docstring.python");
      expectScope(doc, 3, "?>", "punctuation.section.embedded.end.metro");
      expectScope(doc, 4, "n", "variable.other.reference.metro");
      expectScope(doc, 7, "]", "punctuation.definition.block.end.metro");
      expectNoScope(doc, 7, "]", "meta.embedded.block.python");
      expectScope(doc, 8, "b", "variable.other.metro");
    });
  });
});
