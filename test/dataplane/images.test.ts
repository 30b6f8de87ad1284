import { imageModel, parseImage, TESTAPI_IMAGE, testApiImageEnv } from '../../e2e/dataplane/images';

describe('imageModel: what the emulated node runs', () => {
  test.each([
    [`${TESTAPI_IMAGE}:2.0`, '2.0'],
    ['registry.example/testapi:3.0', '3.0'],
    ['registry:5000/team/testapi:1.2.3@sha256:abc', '1.2.3'],
    ['testapi:1.0', '1.0'],
  ])('%s runs the test API, release %s', (image, version) => {
    expect(imageModel(image)).toEqual({ kind: 'test-api', version });
  });

  test.each([
    'ghcr.io/fluxcd/flagger-loadtester:0.38.0',
    'registry.k8s.io/pause:3.10',
  ])('%s is a stand-in: ready, nothing runs for it here', (image) => {
    expect(imageModel(image).kind).toBe('stand-in');
  });

  test('the seed\'s image is refused, naming what the node does run', () => {
    expect(imageModel('cyrilbkr/testapp:1.0')).toEqual({
      kind: 'refused',
      reason: 'image "cyrilbkr/testapp:1.0" is not modelled by the emulated node: it runs the test API (<registry>/testapi:<release>, testapi/Dockerfile) '
        + 'and stands in for ghcr.io/fluxcd/flagger-loadtester, registry.k8s.io/pause',
    });
    expect(imageModel('docker.io/library/nginx:1.27').kind).toBe('refused');
  });

  test('a test API image without a release tag is refused: the release is baked in from the tag', () => {
    expect(imageModel(`${TESTAPI_IMAGE}:latest`)).toEqual({
      kind: 'refused',
      reason: `image "${TESTAPI_IMAGE}:latest": the test API image must be tagged with its release (MAJOR.MINOR or MAJOR.MINOR.PATCH, baked in as APP_VERSION), not "latest"`,
    });
    expect(imageModel(TESTAPI_IMAGE)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/APP_VERSION\)$/) });
  });

  test('parseImage keeps registry ports, drops digests; the image env is the Dockerfile\'s', () => {
    expect(parseImage('registry:5000/testapi')).toEqual({ repository: 'registry:5000/testapi' });
    expect(parseImage('registry:5000/testapi:2.0@sha256:00')).toEqual({ repository: 'registry:5000/testapi', tag: '2.0' });
    expect(testApiImageEnv('2.0')).toEqual({ APP_VERSION: '2.0', NODE_ENV: 'production', PORT: '3000' });
  });
});
