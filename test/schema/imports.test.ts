import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const GENERATED = ['flagger.app.ts', 'gateway.networking.k8s.io.ts', 'policy.linkerd.io.ts', 'split.smi-spec.io.ts'];

// imports/ holds generated code only: `npm run import` must reproduce it, offline.
test('npm run import regenerates the committed imports byte for byte', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-canary-imports-'));
  try {
    const res = spawnSync('bash', [path.join(ROOT, 'imports', 'import.sh'), out], { cwd: ROOT, encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(GENERATED);
    for (const file of GENERATED) {
      expect([file, fs.readFileSync(path.join(out, file), 'utf8') === fs.readFileSync(path.join(ROOT, 'imports', file), 'utf8')]).toEqual([file, true]);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
