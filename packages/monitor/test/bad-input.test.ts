import fc from 'fast-check'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { createCodec } from '@dripdrop/core'
import { DEFAULT_LIMITS, MESSAGE, ReportError, validateMessage } from '../src/index.js'
import { makeReport, makeRoute, rawSender, startCollector, until } from './helpers.js'

describe('bad input', () => {
  it('counts undecodable frames, unknown versions, absurd sizes and unknown names, and keeps serving', async () => {
    const collector = await startCollector()
    const codes: string[] = []
    collector.events.on('report:error', ({ error }) => codes.push(error.code))
    const sim = await rawSender(collector.endpoint)
    // Raw bytes that are not a dripdrop frame.
    const raw = new zmq.Push()
    onTestFinished(() => raw.close())
    raw.connect(collector.endpoint)
    await raw.send(Buffer.from('not msgpack at all'))
    await raw.send(Buffer.from([0x93, 0x01, 0xc1, 0xc1]))
    await sim.send('dd.mon.report', { ...makeReport({ instance: 'v2' }), v: 2 })
    await sim.send('dd.mon.report', makeReport({ instance: 'x'.repeat(100_000) }))
    await sim.send('dd.mon.heartbeat', {
      v: 1,
      instance: 'h',
      startedAt: 'yesterday',
      seq: 1,
      heartbeatIntervalMs: 250,
    })
    await sim.send(
      'dd.mon.report',
      makeReport({
        instance: 'wide',
        routes: Array.from({ length: 1001 }, (_, i) => makeRoute(`r${i}`, {})),
      }),
    )
    // A million routes: over the 1 MiB frame limit. libzmq's ZMQ_MAXMSGSIZE (set by @dripdrop/zmq from
    // maxMessageBytes) drops the connection on its size header, before a byte of it is buffered or decoded:
    // it never reaches the collector, so it is not one of the refusals counted below.
    // (Sent as its own frame: inside a batch it would take the batch's other envelopes down with it.)
    const big = createCodec('msgpack', { maxMessageBytes: 64 * 1024 * 1024 })
    const routes = Array.from({ length: 1_000_000 }, () => ({ node: 'n' }))
    await raw.send(
      Buffer.from(
        big.encode({
          name: 'dd.mon.report',
          head: {},
          body: makeReport({ instance: 'huge', routes: routes as never }),
        }),
      ),
    )
    await sim.send('dd.mon.whatever', {})
    // A good instance after all of that is served.
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'good', routes: [makeRoute('r', { messagesIn: 1 })] }),
    )
    await until(
      () => collector.instance('good')?.report,
      `the good report ${JSON.stringify(codes)} ${JSON.stringify(collector.stats)}`,
    )
    await until(() => codes.length === 7, 'seven refusals')
    expect(codes.filter((c) => c.startsWith('DD_ERR_DECODE')).length).toBe(2)
    expect(codes.filter((c) => !c.startsWith('DD_ERR_DECODE')).sort()).toEqual([
      'DD_ERR_MONITOR_SHAPE',
      'DD_ERR_MONITOR_TOO_LARGE',
      'DD_ERR_MONITOR_TOO_LARGE',
      'DD_ERR_MONITOR_UNKNOWN',
      'DD_ERR_MONITOR_VERSION',
    ])
    expect(collector.stats.refused.DD_ERR_MONITOR_VERSION).toBe(1)
    expect(collector.routeStats.decodeErrors).toBe(2)
    expect(collector.instances().map((i) => i.instance)).toEqual(['good'])
  })

  it('refuses a flood from one instance beyond maxMessagesPerSecond while another is served', async () => {
    const collector = await startCollector({ maxMessagesPerSecond: 20 })
    const sim = await rawSender(collector.endpoint)
    const other = await rawSender(collector.endpoint)
    const beat = (instance: string, seq: number) => ({
      v: 1,
      instance,
      startedAt: 1,
      seq,
      heartbeatIntervalMs: 250,
    })
    const flood = Array.from({ length: 2000 }, (_, i) => sim.send('dd.mon.heartbeat', beat('loud', i + 1)))
    await other.send(
      'dd.mon.report',
      makeReport({ instance: 'calm', routes: [makeRoute('r', { messagesIn: 1 })] }),
    )
    await Promise.all(flood)
    await until(() => collector.instance('calm')?.report, 'the calm report')
    await until(
      () => (collector.stats.refused.DD_ERR_MONITOR_FLOOD ?? 0) + collector.stats.heartbeats === 2000,
      'all beats',
    )
    // At most 20 a second were taken from the loud one.
    expect(collector.stats.refused.DD_ERR_MONITOR_FLOOD).toBeGreaterThan(1000)
    expect(collector.instance('loud')?.status).toBe('up')
  })

  it('refuses new instances beyond maxInstances, forgetting a left one first', async () => {
    const collector = await startCollector({ maxInstances: 2 })
    const sim = await rawSender(collector.endpoint)
    const beat = (instance: string) => ({ v: 1, instance, startedAt: 1, seq: 1, heartbeatIntervalMs: 250 })
    await sim.send('dd.mon.heartbeat', beat('a'))
    await sim.send('dd.mon.heartbeat', beat('b'))
    await sim.send('dd.mon.heartbeat', beat('c'))
    await until(() => collector.stats.refused.DD_ERR_MONITOR_CAPACITY === 1, 'capacity refusal')
    await sim.send('dd.mon.goodbye', { v: 1, instance: 'a', startedAt: 1 })
    await sim.send('dd.mon.heartbeat', beat('c'))
    await until(() => collector.instance('c'), 'c admitted')
    expect(
      collector
        .instances()
        .map((i) => i.instance)
        .sort(),
    ).toEqual(['b', 'c'])
  })

  it('validateMessage throws only ReportError, whatever the body', () => {
    const names = fc.constantFrom(MESSAGE.report, MESSAGE.heartbeat, MESSAGE.goodbye, 'other')
    fc.assert(
      fc.property(names, fc.anything(), (name, body) => {
        try {
          validateMessage(name, body, DEFAULT_LIMITS)
        } catch (err) {
          expect(err).toBeInstanceOf(ReportError)
        }
      }),
      { numRuns: 5000 },
    )
    // Found by this property: a decoded map can have a `toString` key (msgpack allows it).
    expect(() => validateMessage(MESSAGE.report, { v: { toString: 0 } }, DEFAULT_LIMITS)).toThrow(ReportError)
    // Mutations of a valid report.
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(makeReport({ instance: 'i' }))),
        fc.anything(),
        (key, value) => {
          try {
            validateMessage(
              MESSAGE.report,
              { ...makeReport({ instance: 'i' }), [key]: value },
              DEFAULT_LIMITS,
            )
          } catch (err) {
            expect(err).toBeInstanceOf(ReportError)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
