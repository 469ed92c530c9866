import { defineConfig } from 'tsup'

export default defineConfig([
  {
    // ESM only, as js-libp2p: its packages are ESM only, so a CJS build could load only through Node's
    // require(esm) anyway, and that loads this ESM build directly: one copy, no dual-package hazard
    // (docs/decisions.md, issue 17). Class names kept: errors' `name` and their cross-copy `instanceof`
    // read them.
    entry: ['src/index.ts'],
    format: ['esm'],
    keepNames: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json'
  },
  {
    // the browser entry (package.json exports, condition "browser"): platform browser, so a Node import
    // that slipped in fails the build instead of reaching a page (test/browser-entry.test.ts also reads
    // the output for `node:`). Not cleaned: it shares dist/ with the Node build.
    entry: { browser: 'src/browser.ts' },
    format: ['esm'],
    platform: 'browser',
    keepNames: true,
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    tsconfig: 'tsconfig.build.json'
  },
  {
    // the libp2phttp command (package.json "bin"): ESM only (it awaits at top level), no types;
    // its shebang comes from src/cli/main.ts. Not cleaned: it shares dist/ with the library build.
    // Its libp2p stack (libp2p, @libp2p/tcp, noise, yamux: devDependencies) is bundled in, with what only
    // they pull in, so installing the package never fetches them: libp2p 3.3 depends on p-retry 8, whose
    // engines say Node 22, and every Node 20 install warned EBADENGINE (docs/decisions.md, issue 15).
    // The package's dependencies stay external, except uint8arraylist: noise and yamux want ^2, we ^3,
    // and bundling resolves each import from its importer, so each gets its own.
    entry: { cli: 'src/cli/main.ts' },
    noExternal: ['uint8arraylist'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    tsconfig: 'tsconfig.build.json'
  }
])
