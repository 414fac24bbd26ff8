import { describe, expect, it } from 'vitest'
import { zmqTransport } from '../src/index.js'
import { fillOptions, ZMQ_DEFAULTS } from '../src/options.js'

describe('fillOptions', () => {
  it('returns the defaults when nothing is given, and overrides only what is given', () => {
    expect(fillOptions(undefined, ZMQ_DEFAULTS, 'options')).toBe(ZMQ_DEFAULTS)
    const o = fillOptions({ heartbeatIntervalMs: 250, type: 'push' }, ZMQ_DEFAULTS, 'options')
    expect(o).toEqual({ ...ZMQ_DEFAULTS, heartbeatIntervalMs: 250 })
    expect(fillOptions({ batchMaxMessages: 8 }, o, 'route "r": options').heartbeatIntervalMs).toBe(250)
  })

  it('names the option path and the expected value in every error', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { heartbeatIntervalMs: -1 },
        /^options\.heartbeatIntervalMs must be a non-negative integer \(ms\), got -1$/,
      ],
      [{ heartbeatTimeoutMs: 0 }, /^options\.heartbeatTimeoutMs must be a positive integer/],
      [{ socketLingerMs: -2 }, /^options\.socketLingerMs must be an integer >= -1/],
      [{ reconnectMinMs: 1.5 }, /^options\.reconnectMinMs/],
      [{ reconnectMaxMs: '1' }, /^options\.reconnectMaxMs/],
      [{ batchMaxMessages: 0 }, /^options\.batchMaxMessages must be a positive integer/],
      [{ batchMaxBytes: Number.NaN }, /^options\.batchMaxBytes/],
      [{ socketHighWaterMark: -1 }, /^options\.socketHighWaterMark/],
      [{ maxQueueBytes: 0 }, /^options\.maxQueueBytes must be a positive integer \(bytes\)/],
      [{ maxPeerQueueBytes: 1.5 }, /^options\.maxPeerQueueBytes must be a positive integer \(bytes\)/],
    ]
    for (const [given, message] of cases) {
      expect(() => fillOptions(given, ZMQ_DEFAULTS, 'options')).toThrow(message)
    }
    expect(() => fillOptions(null as never, ZMQ_DEFAULTS, 'options')).toThrow(/^options must be an object/)
  })

  it('zmqTransport() refuses an unknown option by name (the old reconnectIntervalMs among them)', () => {
    expect(() => zmqTransport({ reconnectIntervalMs: 50 } as never)).toThrow(
      /^options\.reconnectIntervalMs is not an option of the zmq transport$/,
    )
    expect(() => zmqTransport({ reconnectMinMs: 50, reconnectMaxMs: 500 })).not.toThrow()
  })
})
