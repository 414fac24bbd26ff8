import { describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { ZMQ_DEFAULTS } from '../src/options.js'
import { createSocket, FRAME_SLACK_BYTES, LAYOUTS, ROUTE_TYPES } from '../src/wire.js'

describe('wire layouts', () => {
  it('maps every route type to its ZeroMQ socket; req/rep are DEALER/ROUTER so requests overlap', () => {
    expect(ROUTE_TYPES.sort()).toEqual(['dealer', 'pub', 'pull', 'push', 'rep', 'req', 'router', 'sub'])
    expect(LAYOUTS.req).toEqual({ type: 'plain', socket: 'DEALER' })
    expect(LAYOUTS.rep).toEqual({ type: 'routed', socket: 'ROUTER' })
    expect(LAYOUTS.pub).toEqual({ type: 'topic', socket: 'PUB' })
  })

  it('creates sockets with the transport options applied', () => {
    const o = { ...ZMQ_DEFAULTS, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1250, socketHighWaterMark: 7 }
    const make = (type: string) => {
      const s = createSocket(type, o, 1 << 20)
      onTestFinished(() => s.close())
      return s
    }
    const pub = make('pub') as zmq.Publisher
    expect(pub).toBeInstanceOf(zmq.Publisher)
    // noDrop and mandatory are write-only in libzmq; reliability.test.ts proves them by behaviour.
    expect(pub.sendTimeout).toBe(0)
    expect(pub.sendHighWaterMark).toBe(7)
    expect(pub.heartbeatInterval).toBe(250)
    expect(pub.heartbeatTimeout).toBe(1250)
    expect(pub.heartbeatTimeToLive).toBe(1200)
    const router = make('rep') as zmq.Router
    expect(router).toBeInstanceOf(zmq.Router)
    expect(router.sendTimeout).toBe(0)
    expect(router.receiveHighWaterMark).toBe(7)
    const dealer = make('req') as zmq.Dealer
    expect(dealer).toBeInstanceOf(zmq.Dealer)
    // No ZMQ_EVENTS check before each send; reliability.test.ts proves that they still wait for room.
    expect(dealer.sendTimeout).toBe(0)
    expect(make('pull')).toBeInstanceOf(zmq.Pull)
    const push = make('push') as zmq.Push
    expect(push.sendTimeout).toBe(0)
    expect(push.reconnectInterval).toBe(ZMQ_DEFAULTS.reconnectMinMs)
    expect(push.reconnectMaxInterval).toBe(ZMQ_DEFAULTS.reconnectMaxMs)
    expect((make('sub') as zmq.Subscriber).heartbeatInterval).toBe(250)
    const quiet = createSocket('push', { ...o, heartbeatIntervalMs: 0 }, 1 << 20) as zmq.Push
    onTestFinished(() => quiet.close())
    expect(quiet.heartbeatInterval).toBe(0)
    // libzmq refuses a larger part before buffering it.
    expect(router.maxMessageSize).toBe((1 << 20) + FRAME_SLACK_BYTES)
  })

  it('derives the high-water marks from bytes: about maxPeerQueueBytes of maxMessageBytes frames per peer', () => {
    const make = (maxPeerQueueBytes: number, maxMessageBytes: number) => {
      const s = createSocket('rep', { ...ZMQ_DEFAULTS, maxPeerQueueBytes }, maxMessageBytes) as zmq.Router
      onTestFinished(() => s.close())
      return s
    }
    expect(make(32 << 20, 16 << 20).receiveHighWaterMark).toBe(2)
    expect(make(32 << 20, 16 << 20).sendHighWaterMark).toBe(2)
    expect(make(32 << 20, 1 << 20).receiveHighWaterMark).toBe(32)
    expect(make(32 << 20, 1 << 10).receiveHighWaterMark).toBe(1000)
    expect(make(1 << 20, 16 << 20).receiveHighWaterMark).toBe(2)
  })
})
