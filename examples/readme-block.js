#!/usr/bin/env node
// Prints the first fenced code block under a README heading, so the consumer tests run the
// quick starts exactly as the README shows them: node examples/readme-block.js "### Quick start in Python"
const fs = require('node:fs');
const path = require('node:path');

const heading = process.argv[2];
const lines = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8').split('\n');
const at = lines.indexOf(heading);
if (at < 0) throw new Error(`README.md has no heading '${heading}'`);
const open = lines.findIndex((l, i) => i > at && l.startsWith('```'));
const close = lines.findIndex((l, i) => i > open && l === '```');
if (open < 0 || close < 0) throw new Error(`no code block under '${heading}'`);
process.stdout.write(lines.slice(open + 1, close).join('\n') + '\n');
