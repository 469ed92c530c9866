/**
 * The llhttp WebAssembly copy is exactly the one the installed undici ships (regenerate with
 * `node scripts/llhttp-wasm.mjs` after upgrading undici).
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { LLHTTP_WASM_BASE64, LLHTTP_WASM_SOURCE } from '../../../src/web/http1/llhttp-wasm.js'

const require = createRequire(import.meta.url)

describe('llhttp-wasm', () => {
  it('holds the bytes of the installed undici\'s llhttp-wasm.js', () => {
    const undici = require('undici/lib/llhttp/llhttp-wasm.js') as Uint8Array
    expect(Buffer.from(LLHTTP_WASM_BASE64, 'base64').equals(Buffer.from(undici))).toBe(true)
    expect(LLHTTP_WASM_SOURCE).toBe(`undici@${(require('undici/package.json') as { version: string }).version}`)
  })
})
