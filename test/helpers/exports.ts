/** The public surface of an entry point as the TypeScript compiler sees it (test/index.test.ts, test/browser-entry.test.ts). */
import ts from 'typescript'

/** Every name the module at `file` exports, values and types, sorted. */
export function exportedNames (file: string): string[] {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, noEmit: true
  })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)
  const module = source == null ? undefined : checker.getSymbolAtLocation(source)
  if (module == null) throw new Error(`${file} not found by the compiler`)
  return checker.getExportsOfModule(module).map(s => s.getName()).sort()
}
