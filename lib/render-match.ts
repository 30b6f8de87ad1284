/**
 * Internal: checks A/B request matches and renders them as Flagger's
 * `analysis.match`. Not exported from the package index.
 */
import * as flagger from '../imports/flagger.app';
import { RequestMatch, StringMatch, StringMatchType } from './request-match';
import { HTTP_TOKEN, invalid } from './validate';


// RFC 6265 cookie-octet: no space, quote, comma, semicolon or backslash.
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
// Look-around and backreferences: JavaScript has them, Rust's regex crate refuses them.
const UNSUPPORTED_REGEX = /\(\?<?[=!]|\\[1-9]|\\k</;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function checkRegex(where: string, prop: string, pattern: string): void {
  if (UNSUPPORTED_REGEX.test(pattern)) {
    throw invalid(where, prop, pattern,
      'uses look-around or a backreference, which Linkerd\'s proxy (Rust regex crate) does not support');
  }
  try {
    new RegExp(pattern);
  } catch (err) {
    throw invalid(where, prop, pattern, `is not a valid regular expression: ${(err as Error).message}`);
  }
}

/**
 * Checks one condition and renders it for a Gateway API provider. Flagger's
 * Gateway API routers (v1.44.0 pkg/router/gateway_api*.go, mapRouteMatches)
 * map only `exact` and `regex`; for a prefix they return an error that the
 * A/B path discards, leaving a rule that matches every request. A prefix is
 * therefore written as the anchored regex it means.
 */
function renderStringMatch(where: string, prop: string, match: StringMatch): flagger.CanarySpecAnalysisMatchHeaders {
  if (!(match instanceof StringMatch) && typeof (match as StringMatch)?.type !== 'string') {
    throw invalid(where, prop, match, 'must be a StringMatch (StringMatch.exact, .prefix or .regex)');
  }
  const value = match.value;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(where, prop, value, 'must be a non-empty string');
  }
  switch (match.type) {
    case StringMatchType.EXACT:
      return { exact: value };
    case StringMatchType.PREFIX:
      return { regex: `^${escapeRegex(value)}.*` };
    case StringMatchType.REGEX:
      checkRegex(where, prop, value);
      return { regex: value };
    default:
      throw invalid(where, prop, match.type, 'must be exact, prefix or regex');
  }
}

/** The `Cookie` header condition for a set of cookies, wherever each sits in the header. */
function cookieRegex(cookies: [string, string][]): string {
  // One look-ahead per cookie would be simplest, but Rust's regex has none: with
  // one cookie the pattern is exact; several are matched in the order given.
  const parts = cookies.map(([name, value]) => `${escapeRegex(name)}=${escapeRegex(value)}`);
  return `^(.*;\\s*)?${parts.join('(;.*;\\s*|;\\s*)')}(;.*)?$`;
}

/** Checks a list of A/B matches and renders Flagger's `analysis.match`. */
export function renderRequestMatches(where: string, prop: string, matches: RequestMatch[]): flagger.CanarySpecAnalysisMatch[] {
  if (!Array.isArray(matches) || matches.length === 0) {
    throw invalid(where, prop, matches, 'must list at least one match: A/B testing routes matching requests to the canary');
  }
  return matches.map((match, i) => {
    const at = `${prop}[${i}]`;
    const headers: { [name: string]: flagger.CanarySpecAnalysisMatchHeaders } = {};
    for (const [name, condition] of Object.entries(match?.headers ?? {})) {
      if (!HTTP_TOKEN.test(name)) throw invalid(where, `${at}.headers`, name, 'must be a valid header name (RFC 9110 token)');
      const key = name.toLowerCase();
      if (key in headers) throw invalid(where, `${at}.headers`, name, 'is given twice (header names are case-insensitive)');
      headers[key] = renderStringMatch(where, `${at}.headers.${name}`, condition);
    }
    const cookies = Object.entries(match?.cookies ?? {});
    for (const [name, value] of cookies) {
      if (!HTTP_TOKEN.test(name)) throw invalid(where, `${at}.cookies`, name, 'must be a valid cookie name (RFC 6265 token)');
      if (typeof value !== 'string' || value.length === 0 || !COOKIE_VALUE.test(value)) {
        throw invalid(where, `${at}.cookies.${name}`, value, 'must be a non-empty cookie value without spaces, quotes, commas, semicolons or backslashes');
      }
    }
    if (cookies.length > 0) {
      if ('cookie' in headers) {
        throw invalid(where, `${at}.cookies`, match.cookies, 'cannot be combined with a condition on the Cookie header in headers: both would set it');
      }
      headers.cookie = { regex: cookieRegex(cookies) };
    }
    const queryParams: { [name: string]: flagger.CanarySpecAnalysisMatchHeaders } = {};
    for (const [name, condition] of Object.entries(match?.queryParams ?? {})) {
      if (name.length === 0) throw invalid(where, `${at}.queryParams`, name, 'must be a non-empty parameter name');
      queryParams[name] = renderStringMatch(where, `${at}.queryParams.${name}`, condition);
    }
    const hasHeaders = Object.keys(headers).length > 0;
    const hasQuery = Object.keys(queryParams).length > 0;
    if (!hasHeaders && !hasQuery) {
      throw invalid(where, at, match, 'must hold at least one condition (headers, cookies or queryParams): an empty match would send every request to the canary');
    }
    return { headers: hasHeaders ? headers : undefined, queryParams: hasQuery ? queryParams : undefined };
  });
}

/**
 * Headers a client must send to be chosen by `match`, when every condition is
 * exact (a load test can then be aimed at the canary through the apex
 * Service); undefined when a condition is a prefix or a regex, or is on a
 * query parameter.
 */
export function exactRequestHeaders(match: RequestMatch): { [name: string]: string } | undefined {
  const headers: { [name: string]: string } = {};
  for (const [name, condition] of Object.entries(match.headers ?? {})) {
    if (condition.type !== StringMatchType.EXACT) return undefined;
    headers[name] = condition.value;
  }
  const cookies = Object.entries(match.cookies ?? {});
  if (cookies.length > 0) headers.Cookie = cookies.map(([n, v]) => `${n}=${v}`).join('; ');
  if (Object.keys(match.queryParams ?? {}).length > 0) return undefined;
  return headers;
}
