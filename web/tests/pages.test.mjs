// Every toy page's text against the crate's own schema, without a browser: each page file in
// web/src/toys/ is named after its `id`, which names a toy of the registry, and every "try it"
// item's `set` is accepted in full by the crate's `accept` (no unknown key, no bad or
// out-of-range value, no broken cross-field rule), with a positive whole `steps`.
//
// The crate is the built wasm (web/src/pkg/, from `npm run build`), loaded in Node; the page
// files are TypeScript, transpiled with the `typescript` devDependency (their imports are
// type-only, so each stands alone).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const PAGES = join(WEB, 'src/toys');
const PKG = join(WEB, 'src/pkg');

if (!existsSync(join(PKG, 'papertoys_bg.wasm'))) throw new Error(`no built engine in ${PKG}: run \`npm run build\` first`);
const engine = await import(pathToFileURL(join(PKG, 'papertoys.js')).href);
await engine.default({ module_or_path: readFileSync(join(PKG, 'papertoys_bg.wasm')) });
const registry = new Map(engine.toys().map((t) => [t.id, t]));

/** A page file's default export, transpiled to JavaScript and imported from a data: URL. */
async function loadPage(file) {
  const source = readFileSync(join(PAGES, file), 'utf8');
  const { outputText } = ts.transpileModule(source, { fileName: file, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return (await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`)).default;
}

const files = readdirSync(PAGES).filter((f) => f.endsWith('.ts')).sort();

test('there are page files to check', () => {
  assert.ok(files.length > 0, `no page files in ${PAGES}`);
});

for (const file of files) {
  test(`${file}: names a toy, and every "try it" applies in full`, async () => {
    const page = await loadPage(file);
    assert.equal(typeof page?.id, 'string', `${file} has no default export with an id`);
    const toy = registry.get(page.id);
    assert.ok(toy, `${file}: id '${page.id}' names no toy of the registry (known: ${[...registry.keys()].join(', ')})`);
    assert.equal(basename(file, '.ts'), page.id, `${file}: the file is not named after its toy id '${page.id}'`);
    for (const [i, item] of page.tryThis.entries()) {
      const what = `${file}, try ${i + 1} ("${item.text.slice(0, 50)}…")`;
      if (item.set) {
        const verdict = engine.accept(toy.id, null, item.set, undefined, 1);
        assert.deepEqual(verdict.rejected, [], `${what}: the crate refuses ${JSON.stringify(item.set)}: ${verdict.rejected.map((r) => r.message).join('; ')}`);
        assert.equal(verdict.snapped, null, `${what}: the crate moved a value: ${JSON.stringify(verdict.snapped)}`);
      }
      if (item.steps !== undefined) assert.ok(Number.isSafeInteger(item.steps) && item.steps > 0, `${what}: steps = ${item.steps} is not a positive whole number`);
    }
  });
}
