import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest'
import {
  Node,
  type NodeEventMap,
  type RouteOptions,
  type RouteOptionsByType,
  type TransportFactory,
} from '../src/index.js'

let seq = 0
const addr = () => `inproc://options-${++seq}`

function node(options?: ConstructorParameters<typeof Node>[0]): Node {
  const n = new Node(options)
  onTestFinished(() => {
    n.destroy()
  })
  return n
}

describe('typed route options', () => {
  it('a misspelt or foreign option fails to compile (this file is typechecked) and is refused at run time by name', () => {
    const n = node()
    expect(() =>
      // @ts-expect-error: batchMaxMesages is not an option of a push route
      n.route('x', { type: 'push', bind: addr(), batchMaxMesages: 1 }),
    ).toThrow('route "x": unknown option "batchMaxMesages" for a push route on the inproc transport')
    // `subscribe` belongs to `sub` routes only.
    expect(() =>
      // @ts-expect-error: subscribe is a sub option
      n.route('y', { type: 'pull', bind: addr(), subscribe: 'a.' }),
    ).toThrow('unknown option "subscribe"')
    // An unknown route type does not compile either.
    // @ts-expect-error: no transport declared a "stream" route type
    const bad: RouteOptions = { type: 'stream', bind: addr() }
    expect(bad.type).toBe('stream')
    // Correct options compile and open.
    n.route('ok', { type: 'sub', connect: addr(), subscribe: ['a.'], highWaterMark: 10, concurrency: 2 })
  })

  it('narrows options by route type', () => {
    expectTypeOf<RouteOptions<'sub'>>().toHaveProperty('subscribe')
    expectTypeOf<RouteOptions<'push'>>().not.toHaveProperty('subscribe')
    expectTypeOf<keyof RouteOptionsByType>().toEqualTypeOf<
      'pub' | 'sub' | 'push' | 'pull' | 'req' | 'rep' | 'dealer' | 'router'
    >()
  })

  it("checks a transport's optionKeys per route type, and skips transports that declare none", async () => {
    const fake = (scheme: string, optionKeys?: TransportFactory['optionKeys']): TransportFactory => ({
      name: scheme,
      schemes: [scheme],
      types: ['push', 'pull'],
      optionKeys,
      create: (spec) => ({
        endpoints: spec.bind,
        start: async () => {},
        send: () => undefined,
        close: async () => {},
        destroy: () => 0,
      }),
    })
    const n = node({ transports: [fake('keyed', { push: ['windowSize'] }), fake('loose')] })
    const extra = { windowSize: 4 } as object
    n.route('a', { type: 'push', bind: 'keyed://a', ...extra })
    expect(() => n.route('b', { type: 'pull', bind: 'keyed://b', ...extra })).toThrow(
      'route "b": unknown option "windowSize" for a pull route on the keyed transport',
    )
    n.route('c', { type: 'pull', bind: 'loose://c', ...extra })
    // An option left undefined is no option.
    n.route('d', { type: 'pull', bind: 'keyed://d', ...({ windowSize: undefined } as object) })
  })
})

describe('errors from transports', () => {
  it('counts and reports anything a transport emits as an error, coded, without throwing', async () => {
    const emitted: unknown[] = ['a string', null, { message: 'no code' }, Object.create(null)]
    const t: TransportFactory = {
      name: 'noisy',
      schemes: ['noisy'],
      types: ['pull'],
      create: (_spec, host) => ({
        endpoints: [],
        start: async () => {
          for (const e of emitted) host.emit({ type: 'error', error: e as never })
        },
        send: () => undefined,
        close: async () => {},
        destroy: () => 0,
      }),
    }
    const n = node({ transports: [t] })
    const route = n.route('in', { type: 'pull', connect: 'noisy://x' })
    const errors: NodeEventMap['route:error'][] = []
    n.events.on('route:error', (e) => void errors.push(e))
    await n.start()
    expect(route.stats.errors).toBe(4)
    expect(errors.map((e) => e.error.code)).toEqual([
      'DD_ERR_TRANSPORT',
      'DD_ERR_TRANSPORT',
      'DD_ERR_TRANSPORT',
      'DD_ERR_TRANSPORT',
    ])
    expect(errors[0].error.message).toContain('a string')
    expect(errors[2].error.cause).toBe(emitted[2])
  })
})
