/**
 * Regular expressions as Linkerd evaluates them, in JavaScript.
 *
 * Linkerd parses every RegularExpression of an HTTPRoute (header, query param
 * and path matches) with Rust's `regex` crate: the policy controller when it
 * converts the route (linkerd2 edge-26.8.3, policy-controller/core/src/routes.rs
 * `Regex::new`; the admission webhook, policy-controller/runtime/src/admission.rs
 * `validate_match`, parses the same way), and the proxy again when it builds its
 * routes (linkerd2-proxy v2.366, linkerd/http/route/src/http/match/{header,path,
 * query_param}.rs, `re.parse()`). Both lock regex 1.13.1 / regex-syntax 0.8.11.
 *
 * A match is `re.find(value)` (leftmost-first, unanchored) and then a check
 * that the match spans the whole value (`m.start() == 0 && m.end() == len`),
 * which is NOT the same as `^(?:re)$`: `a|ab` does not match "ab", since
 * leftmost-first finds "a". JavaScript's `exec` has the same leftmost-first
 * semantics, so `fullMatch` does the same find-then-check.
 *
 * The translation covers Rust's syntax where it differs from JavaScript's
 * (run with the `u` flag, code point semantics like Rust's):
 *  - refused like Rust refuses it (the route is invalid): look-around,
 *    backreferences, `\k`, `\Z`, `(?>`, unknown escapes and flags, unbalanced
 *    groups and classes, repetition of nothing, bad counted repetitions,
 *    duplicate or malformed group names, escapes Rust refuses in a class;
 *  - translated: `\A` `\z`, Unicode `\d` `\s` `\w` (Rust's are Unicode-aware,
 *    JavaScript's ASCII) and so `\b` `\B` `\<` `\>` `\b{start}`.., `.` (not `\n`, as in Rust), `(?s)` anywhere, `(?i)`
 *    `(?m)` at the very start, `(?P<name>`, stacked repetitions (`a**` is valid
 *    Rust), lone `]` `}`, escaped punctuation, `\x{..}` `\U..`, `\pL`, ASCII
 *    POSIX classes, `\a`;
 *  - not emulated (reported as `unsupported`, never as invalid): other inline
 *    flags (`x`, `U`, `R`, `-u`, `i`/`m` after the start), nested classes and
 *    class set operations, negated POSIX classes, `\W` inside a class, Unicode property names JavaScript does not know.
 * Known difference: a lazy repetition repeated again (`x*?+`) may match
 * differently (how empty iterations end a loop); nothing Flagger writes.
 */

export type RustRegex =
  | { readonly ok: true; readonly regex: RegExp }
  /** `unsupported`: valid Rust that this emulator cannot translate (not a Linkerd refusal). */
  | { readonly ok: false; readonly error: string; readonly unsupported: boolean };

class RegexError extends Error {
  constructor(message: string, readonly unsupported = false) {
    super(message);
  }
}

const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WORD_CLASS = `[${WORD}]`;
/** Rust's word boundaries are Unicode-aware, JavaScript's `\\b` is not: spelled out. */
const SPECIAL_BOUNDARIES: Readonly<Record<string, string>> = {
  'start': `(?<!${WORD_CLASS})(?=${WORD_CLASS})`,
  'end': `(?<=${WORD_CLASS})(?!${WORD_CLASS})`,
  'start-half': `(?<!${WORD_CLASS})`,
  'end-half': `(?!${WORD_CLASS})`,
};
/** Rust's Unicode Perl classes, as JavaScript class contents. */
const PERL_IN_CLASS: Readonly<Record<string, string>> = { d: '\\p{Nd}', s: '\\p{White_Space}', w: WORD, D: '\\P{Nd}', S: '\\P{White_Space}' };
const PERL_ATOM: Readonly<Record<string, string>> = {
  d: '\\p{Nd}', D: '\\P{Nd}', s: '\\p{White_Space}', S: '\\P{White_Space}', w: WORD_CLASS, W: `[^${WORD}]`,
};
const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { a: '\\x07', f: '\\f', t: '\\t', n: '\\n', r: '\\r', v: '\\v' };
/** Characters that JavaScript's `u` mode lets (or makes) us escape. */
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');
const JS_CLASS_SYNTAX = new Set('\\]^-[/');
const FLAGS = new Set('imsxUuR');

function isAsciiAlnum(c: string): boolean {
  return /^[0-9A-Za-z]$/.test(c);
}

/** A Rust-escaped punctuation character, as a JavaScript literal. */
function literal(c: string, inClass: boolean): string {
  return (inClass ? JS_CLASS_SYNTAX : JS_SYNTAX).has(c) ? `\\${c}` : c;
}

function codePoint(hex: string, what: string): string {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) throw new RegexError(`invalid ${what} escape`);
  return `\\u{${hex}}`;
}

/** Unicode class `\p{..}`: the name as JavaScript spells it, if it knows it. */
function unicodeClass(negated: boolean, name: string): string {
  const p = negated ? 'P' : 'p';
  const bare = name.replace(/^(sc|script|gc|general_category)\s*[=:]\s*/i, '');
  for (const candidate of [name, bare, `Script=${bare}`, `General_Category=${bare}`]) {
    try {
      new RegExp(`\\${p}{${candidate}}`, 'u');
      return `\\${p}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  throw new RegexError(`Unicode class \\p{${name}} is not translated`, true);
}

class Translator {
  private pos = 0;
  private readonly groupNames = new Set<string>();
  private readonly dotAll: boolean[] = [false];
  private readonly out: string[] = [];
  /** Where the last atom starts in `out`, if a repetition may follow it. */
  private atomStart: number | undefined;
  private atomNeedsGroup = false;
  jsFlags = '';

  constructor(private readonly src: string) {}

  translate(): string {
    this.leadingFlags();
    const groups: { start: number; dotAll: boolean }[] = [];
    while (this.pos < this.src.length) {
      const c = this.src[this.pos++];
      if (c === '\\') this.atom(this.escape(false), this.isAssertion());
      else if (c === '(') {
        const g = this.group();
        if (g) groups.push(g);
      }
      else if (c === ')') {
        const g = groups.pop();
        if (!g) throw new RegexError('unopened group');
        this.out.push(')');
        this.dotAll.pop();
        this.atomStart = g.start;
        this.atomNeedsGroup = false;
      } else if (c === '[') this.atom(this.charClass(), false);
      else if (c === '*' || c === '+' || c === '?') this.repeat(c);
      else if (c === '{') this.repeat(this.countedRepetition());
      else if (c === '|') {
        this.out.push('|');
        this.atomStart = undefined;
      } else if (c === '^' || c === '$') this.atom(c, true);
      else if (c === '.') this.atom(this.currentDotAll() ? '[^]' : '[^\\n]', false);
      else this.atom(literal(c, false), false);
    }
    if (groups.length > 0) throw new RegexError('unclosed group');
    return this.out.join('');
  }

  /** `(?i)`, `(?m)`, `(?s)` before anything else become JavaScript flags. */
  private leadingFlags(): void {
    const m = this.src.match(/^\(\?([a-zA-Z]+)\)/);
    if (!m || ![...m[1]].every((f) => 'ims'.includes(f)) || new Set(m[1]).size !== m[1].length) return;
    this.jsFlags = m[1].replace('s', '');
    if (m[1].includes('s')) this.dotAll[0] = true;
    this.pos = m[0].length;
  }

  private currentDotAll(): boolean {
    return this.dotAll[this.dotAll.length - 1];
  }

  private lastEscapeWasAssertion = false;

  private isAssertion(): boolean {
    return this.lastEscapeWasAssertion;
  }

  private atom(text: string, assertion: boolean): void {
    this.atomStart = this.out.length;
    this.atomNeedsGroup = assertion;
    this.out.push(text);
  }

  private repeat(quantifier: string): void {
    if (this.atomStart === undefined) throw new RegexError('repetition operator missing expression');
    // JavaScript refuses a repeated repetition or assertion that Rust takes (`a**`, `^*`): group it.
    if (this.atomNeedsGroup) {
      this.out.splice(this.atomStart, 0, '(?:');
      this.out.push(')');
    }
    let q = quantifier;
    if (this.src[this.pos] === '?') {
      q += '?';
      this.pos++;
    }
    this.out.push(q);
    this.atomNeedsGroup = true;
  }

  /** After `{`: `{n}`, `{n,}`, `{n,m}` (spaces allowed), as JavaScript writes it. */
  private countedRepetition(): string {
    if (this.atomStart === undefined) throw new RegexError('repetition operator missing expression');
    const close = this.src.indexOf('}', this.pos);
    if (close < 0) throw new RegexError('unclosed counted repetition');
    const body = this.src.slice(this.pos, close);
    const m = body.match(/^\s*(\d+)\s*(?:(,)\s*(\d*)\s*)?$/);
    if (!m) throw new RegexError(/^\s*\d+\s*(,\s*\d*\s*)?$/.test(body) ? 'unclosed counted repetition' : 'repetition quantifier expects a valid decimal');
    this.pos = close + 1;
    const min = Number(m[1]);
    if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < min) {
      throw new RegexError('invalid repetition count range, the start must be <= the end');
    }
    return `{${min}${m[2] ? `,${m[3] ?? ''}` : ''}}`;
  }

  /** After `(`: the JavaScript opening of the group; undefined for `(?flags)`, which opens none. */
  private group(): { start: number; dotAll: boolean } | undefined {
    const start = this.out.length;
    const rest = this.src.slice(this.pos);
    let dotAll = this.currentDotAll();
    if (!rest.startsWith('?')) {
      this.out.push('(');
    } else if (/^\?(=|!|<=|<!)/.test(rest)) {
      throw new RegexError('look-around, including look-ahead and look-behind, is not supported');
    } else if (rest.startsWith('?P<') || (rest.startsWith('?<') && !/^\?<[=!]/.test(rest))) {
      const open = rest.indexOf('<') + 1;
      const close = rest.indexOf('>', open);
      if (close < 0) throw new RegexError('unclosed capture group name');
      const name = rest.slice(open, close);
      if (name === '') throw new RegexError('empty capture group name');
      if (!/^[A-Za-z_][\w.[\]]*$/u.test(name)) throw new RegexError('invalid capture group character');
      if (this.groupNames.has(name)) throw new RegexError('duplicate capture group name');
      this.groupNames.add(name);
      this.pos += close + 1;
      // Names change nothing in whether a value matches.
      this.out.push('(');
    } else {
      const m = rest.match(/^\?([^:)]*)([:)])?/);
      const flags = m?.[1] ?? '';
      if (m?.[2] === undefined) {
        throw new RegexError(this.pos + 1 + flags.length >= this.src.length ? 'expected flag but got end of regex' : 'unrecognized flag');
      }
      if (flags === '' && m[2] === ')') throw new RegexError('repetition operator missing expression');
      dotAll = this.flags(flags, dotAll);
      this.pos += 1 + flags.length + 1;
      if (m[2] === ')') {
        // `(?flags)` applies to the rest of the enclosing group.
        this.dotAll[this.dotAll.length - 1] = dotAll;
        this.atomStart = undefined;
        return undefined;
      }
      this.out.push('(?:');
    }
    this.dotAll.push(dotAll);
    this.atomStart = undefined;
    return { start, dotAll };
  }

  private flags(flags: string, dotAll: boolean): boolean {
    const seen = new Set<string>();
    let negate = false;
    let negated = false;
    let next = dotAll;
    const untranslated: string[] = [];
    for (const f of flags) {
      if (f === '-') {
        if (negate) throw new RegexError('repeated negation');
        negate = true;
        continue;
      }
      if (!FLAGS.has(f)) throw new RegexError('unrecognized flag');
      if (seen.has(f)) throw new RegexError('duplicate flag');
      seen.add(f);
      negated ||= negate;
      if (f === 's') next = !negate;
      else if (f !== 'u' || negate) untranslated.push(`${negate ? '-' : ''}${f}`);
    }
    if (negate && !negated) throw new RegexError('dangling flag negation operator');
    if (untranslated.length > 0) throw new RegexError(`inline flag ${untranslated.join(' ')} is not translated`, true);
    return next;
  }

  /** After `\`, outside or inside a class. */
  private escape(inClass: boolean): string {
    this.lastEscapeWasAssertion = false;
    if (this.pos >= this.src.length) throw new RegexError('incomplete escape sequence, reached end of pattern prematurely');
    const c = this.src[this.pos++];
    if (/[0-9]/.test(c)) throw new RegexError('backreferences are not supported');
    if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c];
    if (c === 'x' || c === 'u' || c === 'U') return this.hexEscape(c);
    if (c === 'p' || c === 'P') return this.unicodeEscape(c === 'P');
    if (inClass) {
      if (c in PERL_IN_CLASS) {
        if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']') throw new RegexError('invalid range boundary, must be a literal');
        return PERL_IN_CLASS[c];
      }
      if (c === 'W') throw new RegexError('\\W inside a class is not translated', true);
      if (isAsciiAlnum(c) || c === '<' || c === '>' || c > '\x7f') throw new RegexError('invalid escape sequence found in character class');
      return literal(c, true);
    }
    if (c in PERL_ATOM) return PERL_ATOM[c];
    this.lastEscapeWasAssertion = true;
    if (c === 'A') return '(?<![^])';
    if (c === 'z') return '(?![^])';
    if (c === 'b' && /^\{[A-Za-z-]/.test(this.src.slice(this.pos))) {
      const close = this.src.indexOf('}', this.pos);
      const name = this.src.slice(this.pos + 1, close);
      if (!(name in SPECIAL_BOUNDARIES)) {
        throw new RegexError('unrecognized special word boundary assertion, valid choices are: start, end, start-half or end-half');
      }
      this.pos = close + 1;
      return SPECIAL_BOUNDARIES[name];
    }
    if (c === 'b') return `(?:${SPECIAL_BOUNDARIES.end}|${SPECIAL_BOUNDARIES.start})`;
    if (c === 'B') return `(?:(?<=${WORD_CLASS})(?=${WORD_CLASS})|(?<!${WORD_CLASS})(?!${WORD_CLASS}))`;
    if (c === '<') return SPECIAL_BOUNDARIES.start;
    if (c === '>') return SPECIAL_BOUNDARIES.end;
    this.lastEscapeWasAssertion = false;
    if (isAsciiAlnum(c) || c > '\x7f') throw new RegexError('unrecognized escape sequence');
    return literal(c, false);
  }

  private hexEscape(kind: string): string {
    if (this.src[this.pos] === '{') {
      const close = this.src.indexOf('}', this.pos);
      if (close < 0) throw new RegexError('unclosed hexadecimal escape');
      const hex = this.src.slice(this.pos + 1, close);
      this.pos = close + 1;
      return codePoint(hex, 'hexadecimal');
    }
    const digits = kind === 'x' ? 2 : kind === 'u' ? 4 : 8;
    const hex = this.src.slice(this.pos, this.pos + digits);
    if (hex.length < digits) throw new RegexError('invalid hexadecimal escape');
    this.pos += digits;
    return codePoint(hex, 'hexadecimal');
  }

  private unicodeEscape(negated: boolean): string {
    let name: string;
    if (this.src[this.pos] === '{') {
      const close = this.src.indexOf('}', this.pos);
      if (close < 0) throw new RegexError('unclosed Unicode class');
      name = this.src.slice(this.pos + 1, close);
      this.pos = close + 1;
    } else {
      if (this.pos >= this.src.length) throw new RegexError('incomplete escape sequence');
      name = this.src[this.pos++];
    }
    return unicodeClass(negated, name);
  }

  /** After `[`: a JavaScript class. */
  private charClass(): string {
    let body = '';
    let negated = false;
    if (this.src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) throw new RegexError('unclosed character class');
      const c = this.src[this.pos++];
      if (c === ']' && !first) break;
      first = false;
      if (c === ']') body += '\\]';
      else if (c === '\\') body += this.escape(true);
      else if (c === '[') body += this.posixClass();
      else if ((c === '&' || c === '-' || c === '~') && this.src[this.pos] === c) {
        throw new RegexError('class set operations are not translated', true);
      } else body += JS_CLASS_SYNTAX.has(c) && c !== '-' && c !== '^' ? `\\${c}` : c;
    }
    return `[${negated ? '^' : ''}${body}]`;
  }

  /** After `[` inside a class: `[:alpha:]`; other nested classes are not translated. */
  private posixClass(): string {
    const m = this.src.slice(this.pos).match(/^:(\^?)([a-z]+):\]/);
    if (!m || !(m[2] in POSIX)) throw new RegexError('nested character classes are not translated', true);
    if (m[1]) throw new RegexError('negated POSIX classes are not translated', true);
    this.pos += m[0].length;
    return POSIX[m[2]];
  }
}

const cache = new Map<string, RustRegex>();

/** Compiles a pattern as Rust's regex crate would, or says why Linkerd refuses it. */
export function compileRustRegex(pattern: string): RustRegex {
  const cached = cache.get(pattern);
  if (cached) return cached;
  let result: RustRegex;
  try {
    const translator = new Translator(pattern);
    const source = translator.translate();
    try {
      result = { ok: true, regex: new RegExp(source, `u${translator.jsFlags}`) };
    } catch (err) {
      const message = (err as Error).message;
      // Rust refuses an out-of-order range too; anything else JavaScript refuses is ours.
      result = /Range out of order/.test(message)
        ? { ok: false, error: 'invalid character class range, the start must be <= the end', unsupported: false }
        : { ok: false, error: `not translated to JavaScript: ${message}`, unsupported: true };
    }
  } catch (err) {
    if (!(err instanceof RegexError)) throw err;
    result = { ok: false, error: err.message, unsupported: err.unsupported };
  }
  cache.set(pattern, result);
  return result;
}

/** Linkerd's match: the leftmost-first match must span the whole value. */
export function fullMatch(regex: RegExp, value: string): boolean {
  const m = regex.exec(value);
  return m !== null && m.index === 0 && m[0].length === value.length;
}
