/**
 * What the emulated node can run. A real kubelet pulls any image; this one has
 * no container runtime, so it knows a few images and refuses the rest:
 *
 * - the project's test API (testapi/Dockerfile): any repository named
 *   `testapi` (`ghcr.io/<you>/testapi`, as the README builds it) tagged with
 *   a release. It runs testapi/server.js as the image's ENTRYPOINT does, with
 *   the image's ENV (APP_VERSION from the tag, NODE_ENV, PORT=3000) under the
 *   container's env;
 * - stand-ins: images whose process the stack runs elsewhere (the load
 *   tester image, whose pods stand for the stack's flagger-loadtester process
 *   or the emulator's load generator) or that do nothing (pause). Their
 *   containers are running and ready at once; nothing runs for them here;
 * - anything else, the seed's `cyrilbkr/testapp` included (it serves no
 *   health endpoints): refused, never run, reported as a container the node
 *   cannot create.
 *
 * Pure: loads under jest.
 */

/** The test API image the e2e suites deploy (built from testapi/ as the README shows). */
export const TESTAPI_IMAGE = 'ghcr.io/cdk8s-canary/testapi';

/** testapi/server.js VERSION_RE: the releases the image bakes in as APP_VERSION. */
const RELEASE = /^\d+\.\d+(?:\.\d+)?$/;

/** The image's ENV (testapi/Dockerfile), before the container's own env. */
export function testApiImageEnv(version: string): Record<string, string> {
  return { APP_VERSION: version, NODE_ENV: 'production', PORT: '3000' };
}

const STAND_INS: readonly { readonly repository: string; readonly standsFor: string }[] = [
  { repository: 'ghcr.io/fluxcd/flagger-loadtester', standsFor: 'the stack\'s flagger-loadtester process, or the emulator\'s load generator' },
  { repository: 'registry.k8s.io/pause', standsFor: 'nothing: the pause container does nothing' },
];

export type ImageModel =
  /** Runs testapi/server.js with this release. */
  | { readonly kind: 'test-api'; readonly version: string }
  /** Running and ready at once; its process, if any, is elsewhere. */
  | { readonly kind: 'stand-in'; readonly standsFor: string }
  /** Never run: the container waits with this reason, as for one the node cannot create. */
  | { readonly kind: 'refused'; readonly reason: string };

/** `registry:5000/x/testapi:2.0@sha256:...` -> repository `registry:5000/x/testapi`, tag `2.0`. */
export function parseImage(image: string): { repository: string; tag?: string } {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash
    ? { repository: withoutDigest.slice(0, lastColon), tag: withoutDigest.slice(lastColon + 1) }
    : { repository: withoutDigest };
}

/** Docker Hub's implicit prefixes: `pause` and `docker.io/library/pause` are one repository. */
function canonical(repository: string): string {
  return repository.replace(/^(docker\.io\/|index\.docker\.io\/)(library\/)?/, '');
}

export function imageModel(image: string): ImageModel {
  const { repository, tag } = parseImage(image);
  const repo = canonical(repository);
  if (repo.split('/').pop() === 'testapi') {
    if (tag !== undefined && RELEASE.test(tag)) return { kind: 'test-api', version: tag };
    return {
      kind: 'refused',
      reason: `image "${image}": the test API image must be tagged with its release (MAJOR.MINOR or MAJOR.MINOR.PATCH, baked in as APP_VERSION)`
        + (tag === undefined ? '' : `, not "${tag}"`),
    };
  }
  const standIn = STAND_INS.find((s) => s.repository === repo);
  if (standIn) return { kind: 'stand-in', standsFor: standIn.standsFor };
  return {
    kind: 'refused',
    reason: `image "${image}" is not modelled by the emulated node: it runs the test API (<registry>/testapi:<release>, testapi/Dockerfile) `
      + `and stands in for ${STAND_INS.map((s) => s.repository).join(', ')}`,
  };
}
