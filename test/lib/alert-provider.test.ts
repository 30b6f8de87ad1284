import { Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../../imports/flagger.app';
import { AlertAddress, AlertProvider, AlertProviderProps, AlertProviderType } from '../../lib/alert-provider';
import { only, synthWith, testChart } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

// A Slack webhook's path is the credential: it must never reach a message.
const HOOK = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
const provider = (props: Partial<AlertProviderProps>, scope: Construct = testChart(), id = 'a') =>
  new AlertProvider(scope, id, { name: 'on-call', type: AlertProviderType.SLACK, address: AlertAddress.fromSecret('slack-url'), ...props });
// A JavaScript caller (or a cast) can hand over what the types forbid.
const loose = <T>(value: unknown) => value as T;

describe('AlertProvider', () => {
  test('a Slack provider reading its address from a Secret: schema-valid, in the chart namespace', () => {
    const objects = synthWith((c) => provider({ channel: 'on-call-alerts', username: 'flagger' }, c));
    expectSchemaValid(objects);
    const p = only(objects, 'AlertProvider', 'on-call');
    expect(p.apiVersion).toBe('flagger.app/v1beta1');
    expect(p.metadata).toEqual({ name: 'on-call', namespace: 'testapi' });
    expect(p.spec).toEqual({ type: 'slack', channel: 'on-call-alerts', username: 'flagger', secretRef: { name: 'slack-url' } });
    expect(objects).toMatchSnapshot();
  });

  test('an inline URL is written only when acknowledged, and then without secretRef', () => {
    const objects = synthWith((c) => provider({ address: AlertAddress.inlineUrl(HOOK, { acknowledgeCommittedToGit: true }) }, c));
    expectSchemaValid(objects);
    expect(only(objects, 'AlertProvider').spec).toEqual({ type: 'slack', address: HOOK });
  });

  test('Teams and Google Chat take the address and a proxy, nothing else', () => {
    const objects = synthWith((c) => {
      provider({ name: 'teams', type: AlertProviderType.MSTEAMS, proxy: 'http://proxy.corp:3128' }, c, 'teams');
      provider({ name: 'chat', type: AlertProviderType.GCHAT, address: AlertAddress.fromSecret('gchat') }, c, 'chat');
    });
    expectSchemaValid(objects);
    expect(only(objects, 'AlertProvider', 'teams').spec).toEqual({ type: 'msteams', proxy: 'http://proxy.corp:3128', secretRef: { name: 'slack-url' } });
    expect(only(objects, 'AlertProvider', 'chat').spec).toEqual({ type: 'gchat', secretRef: { name: 'gchat' } });
  });

  test('every type synthesizes a schema-valid object with its own type', () => {
    const types = Object.values(AlertProviderType);
    const objects = synthWith((c) => types.forEach((type) => provider({ name: type, type }, c, type)));
    expectSchemaValid(objects);
    expect(objects.map((o) => [o.metadata.name, o.spec.type])).toEqual(types.map((t) => [t, t]));
    expect(types).toEqual(['slack', 'msteams', 'discord', 'rocket', 'gchat']);
  });

  test('exposes name, namespace, type and the resource a Canary refers to', () => {
    const scope = testChart(null);
    const p = provider({ namespace: 'flagger', type: AlertProviderType.DISCORD }, scope);
    expect([p.name, p.namespace, p.type]).toEqual(['on-call', 'flagger', 'discord']);
    expect(p.resource).toBeInstanceOf(flagger.AlertProvider);
    expect(p.node.defaultChild).toBe(p.resource);
    expect(Testing.synth(scope)[0].metadata).toEqual({ name: 'on-call', namespace: 'flagger' });
  });

  test('one name per namespace; the same name in another namespace is fine', () => {
    const scope = testChart();
    provider({}, scope, 'one');
    expect(provider({ namespace: 'flagger' }, scope, 'two').namespace).toBe('flagger');
    expect(() => provider({}, scope, 'three')).toThrow(
      /AlertProvider 'three': name \('on-call'\) is already the name of an AlertProvider in namespace 'testapi' \(already used by test\/one\)/);
  });

  test('AlertAddress keeps what it was given', () => {
    expect(AlertAddress.fromSecret('s')).toMatchObject({ secretName: 's', url: undefined, acknowledgedCommittedToGit: false });
    expect(AlertAddress.inlineUrl(HOOK, { acknowledgeCommittedToGit: true })).toMatchObject({ secretName: undefined, url: HOOK, acknowledgedCommittedToGit: true });
  });
});

describe('AlertProvider refuses bad input naming the prop, the value and the rule', () => {
  const inline = (url: string) => AlertAddress.inlineUrl(url, { acknowledgeCommittedToGit: true });
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['no address', () => provider({ address: loose(undefined) }),
      /AlertProvider 'a': address \(undefined\) must be set: AlertAddress\.fromSecret\(<Secret with key 'address'>\), or AlertAddress\.inlineUrl/],
    ['both a Secret and a URL', () => provider({ address: loose({ secretName: 's', url: HOOK }) }),
      /address \(\{"secretName":"s","url":"https:\/\/hooks\.slack\.com\/…"\}\) must be either a Secret or an inline URL, not both/],
    ['inline URL not acknowledged', () => provider({ address: AlertAddress.inlineUrl(HOOK, { acknowledgeCommittedToGit: false }) }),
      /address\.url \('https:\/\/hooks\.slack\.com\/…'\) is a webhook credential written into the manifest, and so into Git: use AlertAddress\.fromSecret\(\), or pass \{ acknowledgeCommittedToGit: true \}/],
    ['inline URL without options (JavaScript)', () => provider({ address: AlertAddress.inlineUrl(HOOK, loose(undefined)) }),
      /address\.url \('https:\/\/hooks\.slack\.com\/…'\) is a webhook credential/],
    ['inline URL not http(s)', () => provider({ address: inline('ftp://hooks.example.com/T000/secret') }),
      /address\.url \('ftp:\/\/hooks\.example\.com\/…'\) must be an absolute http:\/\/ or https:\/\/ URL with a host/],
    ['inline URL without scheme', () => provider({ address: inline('hooks.slack.com/services/T000/B000/XXXXSECRET') }),
      /address\.url \('hooks\.slack\.com\/…'\) must be an absolute http:\/\/ or https:\/\/ URL/],
    ['Secret name not DNS-1123', () => provider({ address: AlertAddress.fromSecret('Slack_URL') }),
      /address\.secretName \('Slack_URL'\) must be a DNS-1123 subdomain/],
    ['name not DNS-1123', () => provider({ name: 'On-Call' }), /AlertProvider 'a': name \('On-Call'\) must be a DNS-1123 subdomain/],
    ['namespace not DNS-1123', () => provider({ namespace: 'Flagger' }), /namespace \('Flagger'\) must be a DNS-1123 label/],
    ['no namespace anywhere', () => provider({}, testChart(null)),
      /namespace \(undefined\) must be set, on the AlertProvider or on its chart: Canaries refer to it by namespace and Flagger reads its Secret there/],
    ['unknown type', () => provider({ type: loose('teams') }), /type \('teams'\) must be one of slack, msteams, discord, rocket, gchat/],
    ['channel for Teams', () => provider({ type: AlertProviderType.MSTEAMS, channel: 'ops' }),
      /channel \('ops'\) is ignored by msteams alerts, which post where the webhook points: remove it/],
    ['username for Google Chat', () => provider({ type: AlertProviderType.GCHAT, username: 'flagger' }),
      /username \('flagger'\) is ignored by gchat alerts/],
    ['channel with a space', () => provider({ channel: 'on call' }), /channel \('on call'\) must be a channel name without spaces/],
    ['empty username', () => provider({ type: AlertProviderType.ROCKET, username: '' }),
      /username \(''\) must be a non-empty name without line breaks or surrounding spaces/],
    ['proxy without scheme', () => provider({ proxy: 'my-http-proxy.com:3128' }),
      /proxy \('my-http-proxy\.com:3128'\) must be an absolute http:\/\/ or https:\/\/ URL with a host/],
    ['proxy with credentials', () => provider({ proxy: 'http://bob:hunter2@proxy.corp:3128' }),
      /proxy \('http:\/\/proxy\.corp:3128\/…'\) must not carry credentials \(user:password@\): they would be committed to Git/],
  ];

  test.each(cases)('%s', (_label, build, message) => {
    expect(build).toThrow(message);
  });

  test('no message carries the webhook path or a proxy password', () => {
    const messages = cases.map(([, build]) => {
      try {
        build();
        return 'did not throw';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(messages.filter((m) => /XXXXSECRET|T000|hunter2|did not throw/.test(m))).toEqual([]);
  });
});
