import { Server } from 'node:http'
import { describe, expect, it } from 'vitest'
import { toRequestListener } from '../../src/server/handler.js'
import { InvalidHandlerError, fetchHandler, nodeHandler } from '../../src/index.js'

describe('toRequestListener', () => {
  it('passes a (req, res) listener through unchanged', () => {
    const listener = (_req: unknown, _res: unknown): void => {}
    expect(toRequestListener(listener)).toBe(listener)
    const express = (_req: unknown, _res: unknown, _next: unknown): void => {}
    expect(toRequestListener(express)).toBe(express)
  })

  it('wraps one-parameter functions and { fetch } objects as fetch-style', () => {
    const fetchStyle = (_request: Request): Response => new Response()
    expect(toRequestListener(fetchStyle)).not.toBe(fetchStyle)
    expect(typeof toRequestListener({ fetch: fetchStyle })).toBe('function')
  })

  it('uses a Koa-like app.callback()', () => {
    const listener = (_req: unknown, _res: unknown): void => {}
    expect(toRequestListener({ callback: () => listener })).toBe(listener)
  })

  it('accepts an http.Server', () => {
    expect(typeof toRequestListener(new Server())).toBe('function')
  })

  it('honours explicit tags', () => {
    const anything = (..._args: unknown[]): void => {}
    expect(toRequestListener(nodeHandler(anything))).toBe(anything)
    expect(toRequestListener(fetchHandler(() => new Response()))).not.toBe(anything)
  })

  it('refuses what it cannot classify, saying what to do', () => {
    expect(() => toRequestListener((() => {}) as never)).toThrow(/nodeHandler\(\) or fetchHandler\(\)/)
    expect(() => toRequestListener({} as never)).toThrow(InvalidHandlerError)
    expect(() => toRequestListener(null as never)).toThrow(InvalidHandlerError)
  })
})
