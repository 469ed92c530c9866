import { errors as undiciErrors } from 'undici'
import { describe, expect, it } from 'vitest'
import { BadResponseError, ResponseHeadersTooLargeError, ResponseTimeoutError, StreamResetError } from '../../src/index.js'
import { toResponseError, typedResponseErrors } from '../../src/client/response-errors.js'
import type { Dispatcher } from 'undici'

describe('toResponseError', () => {
  it.each([
    [new undiciErrors.HeadersTimeoutError(), ResponseTimeoutError, 'ERR_RESPONSE_TIMEOUT'],
    [new undiciErrors.BodyTimeoutError(), ResponseTimeoutError, 'ERR_RESPONSE_TIMEOUT'],
    [new undiciErrors.HeadersOverflowError(), ResponseHeadersTooLargeError, 'ERR_RESPONSE_HEADERS_TOO_LARGE'],
    [new undiciErrors.ResponseContentLengthMismatchError(), BadResponseError, 'ERR_BAD_RESPONSE'],
    [new undiciErrors.SocketError('other side closed'), BadResponseError, 'ERR_BAD_RESPONSE'],
    [new undiciErrors.HTTPParserError('Response does not match the HTTP/1.1 protocol'), BadResponseError, 'ERR_BAD_RESPONSE'],
    [Object.assign(new Error('x'), { code: 'HPE_INVALID_CHUNK_SIZE' }), BadResponseError, 'ERR_BAD_RESPONSE']
  ])('%s → %s', (err, type, code) => {
    const mapped = toResponseError(err)
    expect(mapped).toBeInstanceOf(type)
    expect((mapped as BadResponseError).code).toBe(code)
    expect(mapped.cause).toBe(err)
  })

  it('says which wait ran out', () => {
    expect((toResponseError(new undiciErrors.HeadersTimeoutError()) as ResponseTimeoutError).phase).toBe('headers')
    expect((toResponseError(new undiciErrors.BodyTimeoutError()) as ResponseTimeoutError).phase).toBe('body')
  })

  it('keeps our own errors, also as a cause, and leaves others alone', () => {
    const reset = new StreamResetError()
    expect(toResponseError(reset)).toBe(reset)
    expect(toResponseError(new undiciErrors.SocketError('closed', { cause: reset } as never))).toBeInstanceOf(BadResponseError)
    expect(toResponseError(Object.assign(new Error('wrapped'), { cause: reset }))).toBe(reset)
    const abort = new DOMException('aborted', 'AbortError')
    expect(toResponseError(abort)).toBe(abort)
  })
})

describe('typedResponseErrors', () => {
  /** Dispatch through the interceptor to a fake dispatcher that calls back with `act`. */
  function run (act: (handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController) => void): { errors: Error[], starts: number[], aborted: Error[] } {
    const seen = { errors: [] as Error[], starts: [] as number[], aborted: [] as Error[] }
    const controller = { abort: (err: Error) => { seen.aborted.push(err) } } as unknown as Dispatcher.DispatchController
    const dispatch = typedResponseErrors()((_options, handler) => { act(handler, controller); return true })
    dispatch({ origin: 'http://x', path: '/', method: 'GET' }, {
      onResponseStart: (_c, status) => { seen.starts.push(status) },
      onResponseError: (_c, err) => { seen.errors.push(err) }
    })
    return seen
  }

  it('passes errors on mapped', () => {
    const seen = run((handler, controller) => { handler.onResponseError?.(controller, new undiciErrors.BodyTimeoutError()) })
    expect(seen.errors[0]).toBeInstanceOf(ResponseTimeoutError)
  })

  it('refuses a status outside 100–599 and forwards the others', () => {
    const seen = run((handler, controller) => {
      handler.onResponseStart?.(controller, 999, {}, 'Odd')
      handler.onResponseStart?.(controller, 200, {}, 'OK')
    })
    expect(seen.aborted[0]).toBeInstanceOf(BadResponseError)
    expect(seen.starts).toEqual([200])
  })
})
