/** Synthesizes the user's chart into <outdir>/shop and the demo's objects into <outdir>/demo. */
import * as path from 'path';
import { App } from 'cdk8s';
import { synthDemoObjects } from './demo-objects';
import { ShopChart } from './shop';

const outdir = process.argv[2] ?? 'dist';
const app = new App({ outdir: path.join(outdir, 'shop') });
new ShopChart(app, 'shop', { namespace: 'shop' });
app.synth();
synthDemoObjects(path.join(outdir, 'demo'));
