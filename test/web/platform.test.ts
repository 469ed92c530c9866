/**
 * `src/web/` runs on the Web platform: neither its modules nor anything they import at run time (followed
 * through relative imports, type-only imports left out as they are erased) names a Node built-in, undici,
 * or Node's globals (`Buffer`, `process`, `require`). A browser bundle of it needs no Node polyfill.
 */
import { readFile, readdir } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const NODE_GLOBALS = new Set(['Buffer', 'process', 'require', 'global', '__dirname', 'setImmediate'])

/** Run-time import specifiers of a module and the Node globals it uses as values. */
function scan (file: string, text: string): { imports: string[], globals: string[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true)
  const imports: string[] = []
  const globals: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const typeOnly = clause?.isTypeOnly === true || (clause != null && clause.name == null && clause.namedBindings != null &&
        ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every(e => e.isTypeOnly))
      if (!typeOnly) imports.push((node.moduleSpecifier as ts.StringLiteral).text)
      return
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier != null && !node.isTypeOnly) {
      imports.push((node.moduleSpecifier as ts.StringLiteral).text)
      return
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0]
      imports.push(ts.isStringLiteral(arg) ? arg.text : '<dynamic>')
    }
    if (ts.isTypeNode(node)) return
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const parent = node.parent
      const isMemberName = (ts.isPropertyAccessExpression(parent) && parent.name === node) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)
      if (!isMemberName) globals.push(`${node.text} (line ${source.getLineAndCharacterOfPosition(node.getStart()).line + 1})`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { imports, globals }
}

async function webModules (): Promise<string[]> {
  const entries = await readdir(join(ROOT, 'src', 'web'), { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.ts')).map(e => join(e.parentPath, e.name))
}

describe('src/web/', () => {
  it('imports nothing of Node, at run time, all the way down', async () => {
    const seen = new Set<string>()
    const faults: string[] = []
    const queue = await webModules()
    expect(queue.length).toBeGreaterThan(0)
    while (queue.length > 0) {
      const file = queue.pop() as string
      if (seen.has(file)) continue
      seen.add(file)
      const { imports, globals } = scan(file, await readFile(file, 'utf8'))
      const name = relative(ROOT, file)
      for (const g of globals) faults.push(`${name} uses ${g}`)
      for (const specifier of imports) {
        if (specifier.startsWith('.')) {
          queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
        } else if (isBuiltin(specifier) || specifier === 'undici' || specifier.startsWith('undici/')) {
          faults.push(`${name} imports ${specifier}`)
        }
      }
    }
    expect(faults).toEqual([])
    // the walk reached beyond src/web/ (errors, identity, the shared request-target rules)
    expect([...seen].map(f => relative(ROOT, f))).toEqual(expect.arrayContaining(['src/errors.ts', 'src/identity.ts', 'src/server/request-target.ts']))
  })

  it('the scan finds what it looks for', () => {
    const found = scan('x.ts', "import { a } from 'node:http'\nimport type { B } from 'undici'\nexport { c } from 'undici'\nconst x: Buffer = Buffer.from('')\n")
    expect(found.imports).toEqual(['node:http', 'undici'])
    expect(found.globals).toEqual(['Buffer (line 4)'])
  })
})
