import { parse as dotenvParse } from 'dotenv';
import type { ConfigProblem } from '../errors';

/**
 * Reading Sovereign Stack's `KEY="value"` files without a shell.
 *
 * ss `source`s these files with bash; ssw must never do that (a value like
 * `$(curl …)` would run on the management machine). Values come from dotenv's
 * parser, which handles comments, `export`, quotes and CRLF. Beside it runs a
 * small line scanner that flags what bash and dotenv would read differently,
 * or what is not an assignment at all, so the operator fixes the file rather
 * than ssw guessing. The scanner also keeps each key's text as written (quotes
 * included), because dotenv strips backticks as if they were quotes and the
 * shell-syntax check must still see them.
 */

/** One assignment as written in the file. */
export interface RawAssignment {
  /** First line of the assignment (1-based). */
  line: number;
  /** Everything after `=`, quotes kept, comment dropped; continuation lines included. */
  text: string;
}

export interface ScannedConf {
  values: Record<string, string>;
  raw: Record<string, RawAssignment>;
  problems: ConfigProblem[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** Parse one config file's text: dotenv values plus every line that bash would not read the same way. */
export function parseConfFile(text: string, file: string): { values: Record<string, string>; problems: ConfigProblem[] } {
  const { values, problems } = scanConfText(text, file);
  return { values, problems };
}

export function scanConfText(text: string, file: string): ScannedConf {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parsed = dotenvParse(src);
  const raw: Record<string, RawAssignment> = {};
  const problems: ConfigProblem[] = [];
  const lines = src.split(/\r\n|\r|\n/);

  // An open quote carried over from a previous line (multi-line quoted value).
  let open: { quote: string; key: string; line: number } | undefined;

  lines.forEach((lineText, index) => {
    const lineNo = index + 1;
    if (open) {
      const rest = closeQuote(lineText, 0, open.quote);
      raw[open.key].text += `\n${rest === undefined ? lineText : lineText.slice(0, rest.index)}`;
      if (rest === undefined) return;
      if (!isTrailingOk(lineText.slice(rest.index))) {
        problems.push({ file, key: open.key, line: lineNo, message: 'unexpected text after the closing quote' });
      }
      open = undefined;
      return;
    }
    const trimmed = lineText.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;

    const m = ASSIGNMENT.exec(lineText);
    if (!m) {
      // The line is not echoed: it may be a mistyped secret.
      problems.push({
        file,
        line: lineNo,
        message: 'expected a blank line, a # comment or KEY=value (no spaces around "="); this line is none of those',
      });
      return;
    }
    const key = m[1];
    const value = m[2];
    raw[key] = { line: lineNo, text: value };
    const first = value[0];
    if (first === '"' || first === "'" || first === '`') {
      const rest = closeQuote(value, 1, first);
      if (rest === undefined) {
        open = { quote: first, key, line: lineNo };
        return;
      }
      raw[key].text = value.slice(0, rest.index);
      if (!isTrailingOk(value.slice(rest.index))) {
        problems.push({ file, key, line: lineNo, message: 'unexpected text after the closing quote' });
      }
      return;
    }
    // Unquoted: bash ends the value at the first blank and runs the rest as a
    // command; dotenv keeps it. Bash keeps a '#' inside a word; dotenv cuts there.
    const unquoted = value.replace(/\s+#.*$/, '').trimEnd();
    raw[key].text = unquoted;
    if (/\s/.test(unquoted.trim())) {
      problems.push({ file, key, line: lineNo, message: 'an unquoted value contains a blank; put the value in double quotes' });
    } else if (unquoted.includes('#')) {
      problems.push({ file, key, line: lineNo, message: 'an unquoted value contains "#", which would cut it short; put the value in double quotes' });
    }
  });

  if (open) {
    problems.push({ file, key: open.key, line: open.line, message: `the ${open.quote} quote opened here is never closed` });
  }
  // Only what bash would assign: dotenv also accepts `KEY: value` and `KEY = value`,
  // and reads lines inside an unclosed quote as assignments of their own.
  const values: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    if (key in parsed) values[key] = parsed[key];
  }
  return { values, raw, problems };
}

/** Index just past the closing quote, or undefined if the line does not close it. */
function closeQuote(s: string, from: number, quote: string): { index: number } | undefined {
  for (let i = from; i < s.length; i++) {
    if (quote === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === quote) return { index: i + 1 };
  }
  return undefined;
}

function isTrailingOk(rest: string): boolean {
  return rest.trim() === '' || /^\s+#/.test(rest);
}
