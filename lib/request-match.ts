/** How a `StringMatch` compares a value. */
export enum StringMatchType {
  /** The whole value equals the text. */
  EXACT = 'exact',
  /** The value starts with the text. */
  PREFIX = 'prefix',
  /** The value matches the regular expression. */
  REGEX = 'regex',
}

/**
 * A condition on a header or query parameter value, as Flagger's CRD types it
 * (`exact`, `prefix`, `regex`). Regular expressions are compiled by Linkerd's
 * proxy (Rust's `regex` crate), which has no look-around and no
 * backreferences: those are refused here rather than rejected by Linkerd.
 */
export class StringMatch {
  /** The value equals `value`. */
  public static exact(value: string): StringMatch {
    return new StringMatch(StringMatchType.EXACT, value);
  }

  /** The value starts with `value`. */
  public static prefix(value: string): StringMatch {
    return new StringMatch(StringMatchType.PREFIX, value);
  }

  /** The value matches the regular expression `pattern` (RE2/Rust syntax). */
  public static regex(pattern: string): StringMatch {
    return new StringMatch(StringMatchType.REGEX, pattern);
  }

  /** How the value is compared. */
  public readonly type: StringMatchType;
  /** The text or pattern. */
  public readonly value: string;

  private constructor(type: StringMatchType, value: string) {
    this.type = type;
    this.value = value;
  }
}

/**
 * One way a request is chosen for the canary during A/B testing: every
 * condition of a match must hold (AND); a request that satisfies any one
 * match of the list goes to the canary (OR).
 */
export interface RequestMatch {
  /**
   * Conditions on request headers, by header name (case-insensitive).
   * @default - none
   */
  readonly headers?: { readonly [name: string]: StringMatch };

  /**
   * Cookies the request must carry, by cookie name, with their exact values:
   * a condition on the `Cookie` header that holds wherever the cookie sits in it.
   * @default - none
   */
  readonly cookies?: { readonly [name: string]: string };

  /**
   * Conditions on query parameters, by name (case-sensitive).
   * @default - none
   */
  readonly queryParams?: { readonly [name: string]: StringMatch };
}
