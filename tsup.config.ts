import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
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
