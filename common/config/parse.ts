import type { ConfigProblem } from '../errors';
import { isSecretKey } from './validators';

/**
 * Reading Sovereign Stack's `KEY="value"` files the way bash reads them,
 * without a shell.
 *
 * ss `source`s these files with bash; ssw must never do that (a value like
 * `$(curl …)` would run on the management machine), but it must read every
 * value bash would read the same, or a password migrated from ss would
 * silently differ. So this is bash's word reading for one assignment, done
 * here: single quotes are literal; in double quotes `\"`, `\\`, `\$`, `` \` ``
 * and backslash-newline are escapes and every other backslash stays; outside
 * quotes a backslash quotes the next character; quoted and unquoted parts
 * concatenate (`"a"'b'c` is `abc`); a `#` inside a word is part of it.
 *
 * What bash would expand — `$VAR`, `${VAR}`, `$(...)`, backticks, `$'...'`,
 * a `~` where tilde expansion applies — is never guessed: it is returned as
 * an `expansions` problem naming the line, what bash would make of it and how
 * to write the value literally. The loader reports those for the keys ssw
 * reads. What is not an assignment bash would make (a command, `KEY = v`, a
 * blank ending an unquoted value, an unclosed quote) is a problem for any key.
 *
 * Two deliberate tolerances: CRLF line ends and a UTF-8 byte order mark are
 * read as if absent (bash would keep a trailing carriage return in each value).
 */

/** One assignment as written in the file. */
export interface RawAssignment {
  /** First line of the assignment (1-based). */
  line: number;
  /** Everything after `=` as written (quotes kept), up to where bash ends the word; continuation lines included. */
  text: string;
}

export interface ScannedConf {
  /** Each key's value as bash would assign it; keys whose value bash would expand are absent. */
  values: Record<string, string>;
  raw: Record<string, RawAssignment>;
  /** Lines bash would not read as a plain assignment: reported for every key. */
  problems: ConfigProblem[];
  /** Values bash would expand (variables, commands, tilde): reported for the keys ssw uses. */
  expansions: ConfigProblem[];
}

const ASSIGNMENT = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=/;
// Characters bash reads as syntax when unquoted: they end or change the assignment.
const METACHAR = new Set([';', '&', '|', '<', '>', '(', ')']);
const SPECIAL_PARAM = /[0-9@*#?$!-]/;

/** Something bash would expand in a value. */
interface Expansion {
  /** As written, e.g. `$word`, `${HOME}`, `$(date)`, `` `id` ``, `~`. */
  text: string;
  kind: 'variable' | 'command' | 'ansi' | 'tilde';
  /** The variable's name, for kind variable. */
  name?: string;
}

interface Word {
  value: string;
  expansions: Expansion[];
  /** Index in the text just after the word. */
  end: number;
  /** Whether any part of the word was quoted. */
  quoted: boolean;
  /** A syntax problem that stopped the reading (unclosed quote, metacharacter). */
  error?: string;
}

/**
 * Parse one config file's text: each value as bash reads it, plus every line bash would not read as a plain assignment.
 */
export function parseConfFile(
  text: string,
  file: string,
): { values: Record<string, string>; problems: ConfigProblem[] } {
  const { values, problems, expansions } = scanConfText(text, file);
  return { values, problems: [...problems, ...expansions].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
}

export function scanConfText(text: string, file: string): ScannedConf {
  const src = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  const values: Record<string, string> = {};
  const raw: Record<string, RawAssignment> = {};
  const problems: ConfigProblem[] = [];
  const expansions: ConfigProblem[] = [];
  // Line number of each offset (assignments may span lines): a binary search over the newlines' offsets.
  const newlines: number[] = [];
  for (let i = src.indexOf('\n'); i !== -1; i = src.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };

  let pos = 0;
  while (pos < src.length) {
    const nl = src.indexOf('\n', pos);
    const lineEnd = nl === -1 ? src.length : nl;
    const lineText = src.slice(pos, lineEnd);
    const lineNo = lineAt(pos);
    const trimmed = lineText.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      pos = lineEnd + 1;
      continue;
    }
    const m = ASSIGNMENT.exec(lineText);
    if (!m) {
      // The line is not echoed: it may be a mistyped secret.
      problems.push({
        file,
        line: lineNo,
        message: 'expected a blank line, a # comment or KEY=value (no spaces around "="); this line is none of those',
      });
      pos = lineEnd + 1;
      continue;
    }
    const key = m[1]!;
    const start = pos + m[0].length;
    const word = readWord(src, start);
    raw[key] = { line: lineNo, text: src.slice(start, word.end) };
    if (word.error) {
      problems.push({ file, key, line: lineNo, message: word.error });
      // An unclosed quote swallows the rest of the file, as in bash; anything else, the rest of its line.
      const stop = src.indexOf('\n', word.end);
      pos = word.error.includes('never closed') ? src.length : stop === -1 ? src.length : stop + 1;
      continue;
    }
    // After the word: blanks, then the end of the line or a comment.
    let i = word.end;
    while (src[i] === ' ' || src[i] === '\t') i++;
    if (i < src.length && src[i] !== '\n' && src[i] !== '#') {
      problems.push({
        file,
        key,
        line: lineNo,
        message: word.quoted
          ? 'unexpected text after the closing quote (bash would run it as a command); put the whole value in quotes'
          : 'an unquoted value contains a blank (bash would end the value there and run the rest as a command); put the value in double quotes',
      });
    }
    if (word.expansions.length > 0) {
      expansions.push({ file, key, line: lineNo, message: describeExpansions(key, lineNo, word, values) });
      delete values[key];
    } else {
      values[key] = word.value;
    }
    const stop = src.indexOf('\n', i);
    pos = stop === -1 ? src.length : stop + 1;
  }
  return { values, raw, problems, expansions };
}

/** Reads one shell word from `i`, as bash reads the value of an assignment. */
function readWord(s: string, i: number): Word {
  let value = '';
  let quoted = false;
  const expansions: Expansion[] = [];
  // Tilde expansion applies at the start of the value and after each unquoted ':'.
  let tildePosition = true;
  for (;;) {
    const c = s[i];
    if (c === undefined || c === '\n' || c === ' ' || c === '\t') return { value, expansions, end: i, quoted };
    const atTilde = tildePosition;
    tildePosition = false;
    if (c === "'") {
      quoted = true;
      const close = s.indexOf("'", i + 1);
      if (close === -1)
        return { value, expansions, end: s.length, quoted, error: "the ' quote opened here is never closed" };
      value += s.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      quoted = true;
      let j = i + 1;
      for (;;) {
        const d = s[j];
        if (d === undefined)
          return { value, expansions, end: s.length, quoted, error: 'the " quote opened here is never closed' };
        if (d === '"') break;
        if (d === '\\') {
          const n = s[j + 1];
          if (n === '\n') j += 2;
          else if (n === '$' || n === '`' || n === '"' || n === '\\') {
            value += n;
            j += 2;
          } else {
            value += '\\';
            j += 1;
          }
        } else if (d === '$' || d === '`') {
          const e = readExpansion(s, j, true);
          if (e) {
            if ('error' in e) return { value, expansions, end: s.length, quoted, error: e.error };
            expansions.push(e.expansion);
            value += e.expansion.text;
            j = e.end;
          } else {
            value += d;
            j += 1;
          }
        } else {
          value += d;
          j += 1;
        }
      }
      i = j + 1;
    } else if (c === '\\') {
      const n = s[i + 1];
      if (n === '\n') i += 2;
      else if (n === undefined) {
        value += '\\';
        i += 1;
      } else {
        value += n;
        i += 2;
      }
    } else if (c === '$' || c === '`') {
      const e = readExpansion(s, i, false);
      if (e) {
        if ('error' in e) return { value, expansions, end: s.length, quoted, error: e.error };
        expansions.push(e.expansion);
        value += e.expansion.text;
        i = e.end;
      } else {
        value += c;
        i += 1;
      }
    } else if (c === '~' && atTilde) {
      let j = i + 1;
      while (j < s.length && !/[\s/:'"\\$`;&|<>()]/.test(s[j]!)) j++;
      expansions.push({ text: s.slice(i, j), kind: 'tilde' });
      value += s.slice(i, j);
      i = j;
    } else if (METACHAR.has(c)) {
      return {
        value,
        expansions,
        end: i,
        quoted,
        error: `an unquoted value contains "${c}", which bash reads as shell syntax, not as part of the value; put the value in single quotes`,
      };
    } else {
      value += c;
      if (c === ':') tildePosition = true;
      i += 1;
    }
  }
}

/**
 * The expansion starting at `s[i]` (`$` or a backtick), or undefined when bash
 * keeps the `$` literally (before a blank, a quote, the end, or another character).
 */
function readExpansion(
  s: string,
  i: number,
  inDoubleQuotes: boolean,
): { expansion: Expansion; end: number } | { error: string } | undefined {
  const closeAt = (from: number, open: string, close: string): number => {
    let depth = 1;
    for (let j = from; j < s.length; j++) {
      if (s[j] === '\\') j++;
      else if (s[j] === open) depth++;
      else if (s[j] === close && --depth === 0) return j;
    }
    return -1;
  };
  if (s[i] === '`') {
    const end = s.indexOf('`', i + 1);
    if (end === -1) return { error: 'the ` quote opened here is never closed' };
    return { expansion: { text: s.slice(i, end + 1), kind: 'command' }, end: end + 1 };
  }
  const n = s[i + 1];
  if (n === '(') {
    const end = closeAt(i + 2, '(', ')');
    if (end === -1) return { error: 'the $( opened here is never closed' };
    return { expansion: { text: s.slice(i, end + 1), kind: 'command' }, end: end + 1 };
  }
  if (n === '{') {
    const end = closeAt(i + 2, '{', '}');
    if (end === -1) return { error: 'the ${ opened here is never closed' };
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 2, end))?.[0];
    return { expansion: { text: s.slice(i, end + 1), kind: 'variable', ...(name ? { name } : {}) }, end: end + 1 };
  }
  if (n !== undefined && /[A-Za-z_]/.test(n)) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1))![0];
    return { expansion: { text: `$${name}`, kind: 'variable', name }, end: i + 1 + name.length };
  }
  if (n !== undefined && SPECIAL_PARAM.test(n)) return { expansion: { text: `$${n}`, kind: 'variable' }, end: i + 2 };
  if (!inDoubleQuotes && (n === "'" || n === '"')) {
    const end = s.indexOf(n, i + 2);
    if (end === -1) return { error: `the $${n} quote opened here is never closed` };
    return { expansion: { text: s.slice(i, end + 1), kind: 'ansi' }, end: end + 1 };
  }
  return undefined;
}

/** "line 3: bash … would …; write it as …", never quoting a secret's value. */
function describeExpansions(key: string, line: number, word: Word, earlier: Record<string, string>): string {
  const howTo =
    "ssw never expands variables or runs commands in config. If it is meant literally, put the value in single quotes ('...'), or write each $ as \\$ (and each ` as \\`) inside double quotes";
  if (isSecretKey(key)) {
    const kinds = [...new Set(word.expansions.map((e) => KIND_TEXT[e.kind]))].join(' and ');
    return `line ${line}: bash, which ss reads this file with, would expand ${kinds} in this value, so ss would use a different secret than the one written (the value is not shown because the key is secret); ${howTo}.`;
  }
  const parts = word.expansions.map((e) => {
    if (e.kind === 'variable') {
      const set = e.name !== undefined && e.name in earlier;
      return `${e.text} with ${e.name ? `the value of the variable ${e.name}` : 'a shell parameter'} (${set ? `${JSON.stringify(earlier[e.name!])}, set above in this file` : 'empty unless it is in the environment'})`;
    }
    if (e.kind === 'command') return `${e.text} with the output of running that command`;
    if (e.kind === 'tilde') return `${e.text} with a home directory`;
    return `${e.text} with its ANSI-C decoding`;
  });
  return `line ${line}: bash, which ss reads this file with, would replace ${parts.join(', and ')}; ${howTo}.`;
}

const KIND_TEXT: Record<Expansion['kind'], string> = {
  variable: 'a $variable',
  command: 'a command substitution',
  tilde: 'a ~ (home directory)',
  ansi: "a $'...' quote",
};
