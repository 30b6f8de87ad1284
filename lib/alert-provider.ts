import { Construct } from 'constructs';
import * as flagger from '../imports/flagger.app';
import { checkDnsSubdomain, checkHttpUrl, claimUnique, invalid, resolveNamespace } from './validate';

/**
 * Chat services Flagger can alert (the `type` enum of Flagger v1.44.0's
 * AlertProvider CRD, artifacts/flagger/crd.yaml; senders in pkg/notifier/).
 */
export enum AlertProviderType {
  /**
   * Slack: an incoming webhook, or `https://slack.com/api/chat.postMessage`
   * with a bot `token` in the Secret. Uses `channel` and `username`.
   */
  SLACK = 'slack',
  /** Microsoft Teams webhook. Posts where the webhook points: no `channel`, no `username`. */
  MSTEAMS = 'msteams',
  /**
   * Discord webhook in Slack format (Flagger appends `/slack` to the address).
   * Uses `channel` and `username`.
   */
  DISCORD = 'discord',
  /** Rocket.Chat incoming webhook. Uses `channel` and `username`. */
  ROCKET = 'rocket',
  /** Google Chat webhook. Posts where the webhook points: no `channel`, no `username`. */
  GCHAT = 'gchat',
}

// Flagger v1.44.0 pkg/notifier/factory.go passes channel and username to these
// senders only; teams.go and gchat.go take nothing but the URL and the proxy.
const USES_CHANNEL: string[] = [AlertProviderType.SLACK, AlertProviderType.DISCORD, AlertProviderType.ROCKET];

/** Options of `AlertAddress.inlineUrl()`. */
export interface InlineAlertAddressOptions {
  /**
   * Acknowledges that the webhook URL, which lets anyone post to the channel,
   * is written into the manifest and so into Git. Must be `true`.
   */
  readonly acknowledgeCommittedToGit: boolean;
}

/**
 * Where Flagger posts alerts. A webhook URL is a credential: keep it in a
 * Secret (`fromSecret`), which is never synthesized here, and write it inline
 * only when you accept that it is committed to Git (`inlineUrl`).
 */
export class AlertAddress {
  /**
   * The webhook URL comes from a Secret in the AlertProvider's namespace.
   * Flagger v1.44.0 (pkg/controller/events.go) reads its key `address` (without
   * it the alert is dropped with "secret does not contain an address") and an
   * optional key `token`, which only the Slack sender uses, as
   * `Authorization: Bearer <token>` (pkg/notifier/slack.go).
   *
   * @param secretName name of the Secret
   */
  public static fromSecret(secretName: string): AlertAddress {
    return new AlertAddress(secretName, undefined, false);
  }

  /**
   * The webhook URL written into the AlertProvider itself, in plain text.
   *
   * @param url http(s) webhook URL
   * @param options must acknowledge that the URL is committed to Git
   */
  public static inlineUrl(url: string, options: InlineAlertAddressOptions): AlertAddress {
    return new AlertAddress(undefined, url, options?.acknowledgeCommittedToGit === true);
  }

  /** Name of the Secret holding the URL, when the address comes from one. */
  public readonly secretName?: string;
  /** The URL written into the manifest, when the address is inline. */
  public readonly url?: string;
  /** Whether the caller acknowledged that an inline URL is committed to Git. */
  public readonly acknowledgedCommittedToGit: boolean;

  private constructor(secretName: string | undefined, url: string | undefined, acknowledged: boolean) {
    this.secretName = secretName;
    this.url = url;
    this.acknowledgedCommittedToGit = acknowledged;
  }
}

/** Props for `AlertProvider`. */
export interface AlertProviderProps {
  /** Name of the AlertProvider, which Canaries give in `analysis.alerts[].providerRef.name`. */
  readonly name: string;

  /**
   * Namespace of the AlertProvider; a Secret named by the address must be in it too.
   * @default - the chart's namespace; one of the two must be set
   */
  readonly namespace?: string;

  /** Chat service. */
  readonly type: AlertProviderType;

  /** Where Flagger posts: `AlertAddress.fromSecret(name)`, or an acknowledged `AlertAddress.inlineUrl(url, ...)`. */
  readonly address: AlertAddress;

  /**
   * Channel to post to (slack, discord and rocket only; Slack honours it for
   * legacy webhooks and chat.postMessage).
   * @default - Flagger's 'general'
   */
  readonly channel?: string;

  /**
   * Name the messages are posted under (slack, discord and rocket only).
   * @default - Flagger's 'flagger'
   */
  readonly username?: string;

  /**
   * http(s) proxy for the posts. Written into the manifest, so it must not
   * carry credentials.
   * @default - no proxy
   */
  readonly proxy?: string;
}

/**
 * A Flagger AlertProvider (`flagger.app/v1beta1`): a chat channel that
 * Canaries alert through `analysis.alerts[]` with
 * `providerRef: { name, namespace }` (this construct's `name` and `namespace`).
 */
export class AlertProvider extends Construct {
  /** Name of the AlertProvider. */
  public readonly name: string;
  /** Namespace of the AlertProvider. */
  public readonly namespace: string;
  /** Chat service. */
  public readonly type: AlertProviderType;
  /** The generated Flagger ApiObject. */
  public readonly resource: flagger.AlertProvider;

  public constructor(scope: Construct, id: string, props: AlertProviderProps) {
    super(scope, id);
    const where = `AlertProvider '${id}'`;
    this.name = props.name;
    checkDnsSubdomain(where, 'name', this.name);
    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set, on the AlertProvider or on its chart: Canaries refer to it by namespace and Flagger reads its Secret there');
    this.namespace = namespace;

    this.type = props.type;
    const types = Object.values(AlertProviderType) as string[];
    if (!types.includes(this.type)) throw invalid(where, 'type', this.type, `must be one of ${types.join(', ')}`);

    const address = checkAddress(where, props.address);
    checkRecipient(where, this.type, 'channel', props.channel, /^\S+$/, 'must be a channel name without spaces');
    checkRecipient(where, this.type, 'username', props.username, /^\S(.*\S)?$/, 'must be a non-empty name without line breaks or surrounding spaces');
    if (props.proxy !== undefined) {
      checkHttpUrl(where, 'proxy', props.proxy);
      // Flagger has no Secret field for the proxy: anything in the URL lands in Git.
      if (/^[^:/?#]+:\/\/[^/?#]*@/.test(props.proxy)) {
        throw invalid(where, 'proxy', redact(props.proxy), 'must not carry credentials (user:password@): they would be committed to Git');
      }
    }

    claimUnique(this, where, 'name', this.name, `AlertProvider ${namespace}/${this.name}`,
      `is already the name of an AlertProvider in namespace '${namespace}'`);

    this.resource = new flagger.AlertProvider(this, 'Resource', {
      metadata: { name: this.name, namespace },
      spec: {
        type: this.type as string as flagger.AlertProviderSpecType,
        channel: props.channel,
        username: props.username,
        proxy: props.proxy,
        ...address,
      },
    });
  }
}

/**
 * Exactly one of a Secret and an acknowledged inline URL. The CRD accepts
 * either (`oneOf` [type, address] or [type, secretRef]), and with both Flagger
 * would silently prefer the Secret (pkg/controller/events.go).
 */
function checkAddress(where: string, address: AlertAddress | undefined): Pick<flagger.AlertProviderSpec, 'address' | 'secretRef'> {
  const secretName = address?.secretName;
  const url = address?.url;
  if (secretName === undefined && url === undefined) {
    throw invalid(where, 'address', address,
      'must be set: AlertAddress.fromSecret(<Secret with key \'address\'>), or AlertAddress.inlineUrl(<url>, { acknowledgeCommittedToGit: true })');
  }
  if (secretName !== undefined && url !== undefined) {
    throw invalid(where, 'address', { secretName, url: redact(url) }, 'must be either a Secret or an inline URL, not both: Flagger would ignore the URL');
  }
  if (secretName !== undefined) {
    checkDnsSubdomain(where, 'address.secretName', secretName);
    return { secretRef: { name: secretName } };
  }
  const inline = url as string;
  // The URL is a credential: messages show its scheme and host only, never the rest (CI logs).
  let valid = true;
  try {
    checkHttpUrl(where, 'address.url', inline);
  } catch {
    valid = false;
  }
  if (!valid) throw invalid(where, 'address.url', redact(inline), 'must be an absolute http:// or https:// URL with a host');
  if (address?.acknowledgedCommittedToGit !== true) {
    throw invalid(where, 'address.url', redact(inline),
      'is a webhook credential written into the manifest, and so into Git: use AlertAddress.fromSecret(), or pass { acknowledgeCommittedToGit: true }');
  }
  return { address: inline };
}

/** `channel` and `username`: only for the senders that read them, and then well-formed. */
function checkRecipient(where: string, type: string, prop: string, value: string | undefined, pattern: RegExp, rule: string): void {
  if (value === undefined) return;
  if (!USES_CHANNEL.includes(type)) {
    throw invalid(where, prop, value, `is ignored by ${type} alerts, which post where the webhook points: remove it`);
  }
  if (typeof value !== 'string' || !pattern.test(value)) throw invalid(where, prop, value, rule);
}

/** A URL for an error message: scheme and host only, the rest (path, query, user info) elided. */
function redact(url: string): string {
  const [, scheme, host] = /^((?:[^:/?#]+:\/\/)?)(?:[^/?#]*@)?([^/?#]*)/.exec(String(url)) as RegExpExecArray;
  const shown = `${scheme}${host}`;
  return shown === url ? url : `${shown}/…`;
}
