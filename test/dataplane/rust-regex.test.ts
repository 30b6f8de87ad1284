/**
 * The expected values are what Rust's regex 1.13.1 (the version linkerd2 and
 * linkerd2-proxy lock) answers for `Regex::new(p)` and, for a value,
 * `re.find(v)` spanning the whole value, as Linkerd's matchers check it.
 */
import { compileRustRegex, fullMatch } from '../../e2e/dataplane/rust-regex';

function matches(pattern: string, value: string): boolean {
  const re = compileRustRegex(pattern);
  if (!re.ok) throw new Error(`${pattern}: ${re.error}`);
  return fullMatch(re.regex, value);
}

describe('Rust regex semantics, as Linkerd matches values', () => {
  test.each([
    // Flagger's session cookie match, other cookies around it.
    ['.*canary-session.*abc123.*', 'theme=dark; canary-session=abc123; lang=en', true],
    ['.*canary-session.*abc123.*', 'theme=dark', false],
    // ... and its looseness: the value may come later, in another cookie.
    ['.*canary-session.*abc123.*', 'canary-session=zzz; other=abc123x', true],
    // find-then-check, not ^(?:..)$: leftmost-first finds "a", which does not span "ab".
    ['a|ab', 'ab', false],
    ['bar*', 'barro', false],
    ['bar*', 'barr', true],
    // Unicode classes, as in Rust (JavaScript's \d and \w are ASCII).
    ['\\d+', '١٢٣', true],
    ['\\w+', 'héllo', true],
    ['\\bé\\b', 'é', true],
    ['(?i)insider', 'INSIDER', true],
    ['insider', 'INSIDER', false],
    // Valid Rust that JavaScript's syntax refuses or reads otherwise.
    ['a**', 'aa', true],
    ['}', '}', true],
    ['^*a', 'a', true],
    ['\\-x', '-x', true],
    ['(?P<n>x)y', 'xy', true],
    ['[]a]+', 'a]a', true],
    ['\\x{41}\\u0042', 'AB', true],
    ['\\Aab\\z', 'ab', true],
    ['[[:digit:]]+', '123', true],
    ['/api/v[0-9]+/.*', '/api/v2/users', true],
    ['/api/v[0-9]+/.*', '/api/vX/users', false],
    // `.` is not a newline, unless (?s).
    ['a.b', 'a\nb', false],
    ['(?s)a.b', 'a\nb', true],
  ])('%j on %j: %s', (pattern, value, expected) => {
    expect(matches(pattern, value)).toBe(expected);
  });

  test.each([
    ['(?=a)', 'look-around, including look-ahead and look-behind, is not supported'],
    ['(?<!a)b', 'look-around, including look-ahead and look-behind, is not supported'],
    ['(a)\\1', 'backreferences are not supported'],
    ['\\k<a>', 'unrecognized escape sequence'],
    ['\\Z', 'unrecognized escape sequence'],
    ['(?>a)', 'unrecognized flag'],
    ['a{,3}', 'repetition quantifier expects a valid decimal'],
    ['a{2', 'unclosed counted repetition'],
    ['x{2,1}', 'invalid repetition count range, the start must be <= the end'],
    ['*', 'repetition operator missing expression'],
    ['(a', 'unclosed group'],
    ['a)', 'unopened group'],
    ['[a', 'unclosed character class'],
    ['[\\<]', 'invalid escape sequence found in character class'],
    ['(?P<a>x)(?P<a>y)', 'duplicate capture group name'],
    ['(?ii)a', 'duplicate flag'],
    ['[z-a]', 'invalid character class range, the start must be <= the end'],
  ])('Rust refuses %j: %s', (pattern, error) => {
    expect(compileRustRegex(pattern)).toEqual({ ok: false, error, unsupported: false });
  });

  test('valid Rust the emulator cannot evaluate is reported as such, not as invalid', () => {
    const re = compileRustRegex('a(?i)b');
    expect(re).toEqual({ ok: false, error: 'inline flag i is not translated', unsupported: true });
  });
});
