/**
 * The request-target rules in their Node-free module (the full table is in request-checks.test.ts,
 * through the re-export): the same functions both servers use.
 */
import { describe, expect, it } from 'vitest'
import * as checks from '../../src/server/request-checks.js'
import { hasDotSegment, originForm, pathBelow } from '../../src/server/request-target.js'

describe('request-target', () => {
  it('is what request-checks re-exports (one copy of the rules)', () => {
    expect([checks.originForm, checks.hasDotSegment, checks.pathBelow]).toEqual([originForm, hasDotSegment, pathBelow])
  })

  it('origin-form kept, absolute-form for the Host made origin-form, the rest refused', () => {
    expect(originForm('/a?b', 'h')).toEqual({ target: '/a?b' })
    expect(originForm('http://h/a', 'h')).toEqual({ target: '/a' })
    expect(originForm('http://other/a', 'h')).toHaveProperty('refusal')
    expect(originForm('/a/%2e%2e/b', 'h')).toHaveProperty('refusal')
    expect(pathBelow('/base', '/x')).toBe('/base/x')
    expect(pathBelow('/base', '/../x')).toBeUndefined()
  })
})
