// Code blocks in markdown, made checkable: used by the tests that run every
// block of README.md, the npm README and the guides (tests/docs_test.ts,
// tests/node/readme.test.mjs) and by the docs build. Plain JavaScript so
// that both Deno and Node import it.
//
// A block's printed output is checked where the text shows it: a statement
//   console.log(expr); // expected output
// (which may span lines; the comment ends its last line) must print
// `expected output` (whitespace runs count as one space; a trailing "..."
// means the output starts with the text before it). A trailing
// `// prints:` takes the output from the comment lines that follow.

/**
 * @typedef {{ lang: string, info: string, code: string, line: number }} Block
 * `lang` is the first word of the fence's info string, `info` all of it,
 * `line` the 1-based line of the block's first code line in the file.
 */

/**
 * The fenced code blocks of a markdown text.
 * @param {string} markdown
 * @returns {Block[]}
 */
export function codeBlocks(markdown) {
  const lines = markdown.split("\n");
  /** @type {Block[]} */
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([^`]*)$/);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j].trim().startsWith(fence) && lines[j].trim() === fence) break;
      body.push(
        lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j],
      );
    }
    blocks.push({
      lang: info.trim().split(/\s+/)[0] ?? "",
      info: info.trim(),
      code: body.join("\n") + "\n",
      line: i + 2,
    });
    i = j;
  }
  return blocks;
}

const MARK = "@@jacobi-snippet-output";

/** Parentheses opened minus closed on a line, outside strings and comments. */
function parenBalance(/** @type {string} */ line) {
  const code = line
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "")
    .replace(/\/\/.*$/, "");
  let n = 0;
  for (const c of code) n += c === "(" ? 1 : c === ")" ? -1 : 0;
  return n;
}

/**
 * Wraps each `console.log(...)` statement whose last line ends with
 * `// expected` between two marker prints, on its own first and last lines
 * (so line numbers in errors stay right). The statement may span lines, as
 * `deno fmt` leaves long calls.
 * @param {string} code
 * @returns {{ code: string, expected: { line: number, text: string }[] }}
 */
export function instrument(code) {
  /** @type {{ line: number, text: string }[]} */
  const expected = [];
  const lines = code.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = lines[i].match(/^(\s*)console\.log\(/);
    if (!start) continue;
    let j = i, depth = 0;
    for (; j < lines.length; j++) {
      depth += parenBalance(lines[j]);
      if (depth <= 0) break;
    }
    if (j === lines.length) break;
    const end = lines[j].match(/^(.*\));?\s*\/\/\s?(.+)$/);
    if (!end) {
      i = j;
      continue;
    }
    const n = expected.length;
    let text = end[2].trim();
    if (text === "prints:") {
      // The output is on the comment lines that follow.
      const out = [];
      for (let k = j + 1; k < lines.length; k++) {
        const c = lines[k].match(/^\s*\/\/ ?(.*)$/);
        if (!c) break;
        out.push(c[1]);
      }
      text = out.join("\n");
    }
    expected.push({ line: j + 1, text });
    const indent = start[1];
    lines[i] = `${indent}console.log(${JSON.stringify(`${MARK} ${n}`)}); ${
      lines[i].slice(indent.length)
    }`;
    // Line j may be line i, already prefixed: re-match its end.
    lines[j] = lines[j].replace(
      /\);?\s*\/\/\s?(.+)$/,
      `); console.log(${JSON.stringify(`${MARK} end ${n}`)});`,
    );
    i = j;
  }
  return { code: lines.join("\n"), expected };
}

const norm = (/** @type {string} */ s) => s.replace(/\s+/g, " ").trim();

/**
 * Compares what an instrumented block printed with what its text shows.
 * @param {string} stdout
 * @param {{ line: number, text: string }[]} expected
 * @returns {string[]} one message per mismatch (empty when all match)
 */
export function compareOutput(stdout, expected) {
  const problems = [];
  for (let n = 0; n < expected.length; n++) {
    const { line, text } = expected[n];
    const start = stdout.indexOf(`${MARK} ${n}\n`);
    const end = stdout.indexOf(`${MARK} end ${n}\n`);
    if (start < 0 || end < 0) {
      problems.push(`line ${line}: the console.log did not run`);
      continue;
    }
    const got = norm(stdout.slice(start + `${MARK} ${n}\n`.length, end));
    const elided = /(\.\.\.|…)$/.test(text);
    const want = norm(text.replace(/(\.\.\.|…)$/, ""));
    const ok = elided ? got.startsWith(want) : got === want;
    if (!ok) {
      const shown = got.length > 300 ? `${got.slice(0, 300)}...` : got;
      problems.push(
        `line ${line}: printed\n    ${shown}\n  but the text shows\n    ${text}`,
      );
    }
  }
  return problems;
}

/**
 * The printed output without the markers (for reading a failure).
 * @param {string} stdout
 */
export function stripMarkers(stdout) {
  return stdout.split("\n").filter((l) => !l.startsWith(MARK)).join("\n");
}
