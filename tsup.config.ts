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
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    tsconfig: 'tsconfig.build.json'
  }
])
