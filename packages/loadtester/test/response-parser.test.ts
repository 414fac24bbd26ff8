import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  PARSE_CLOSE,
  PARSE_ERROR,
  PARSE_OK,
  ResponseParser,
} from '../src/engine/fast-client/response-parser.js'

interface Spec {
  status: number
  /** Informational responses sent before the final one. */
  informational: number[]
  framing: 'length' | 'chunked' | 'none'
  body: number[]
  /** Extra headers (name, value), in mixed case. */
  headers: [string, string][]
  connection: 'keep-alive' | 'close' | undefined
  head: boolean
  http10: boolean
  chunkExtension: boolean
}

interface Parsed {
  status: number
  bodyBytes: number
  keepAlive: boolean
}

/** Serializes a response as a server would, and what the parser should report for it. */
function serialize(s: Spec): { bytes: Buffer; expected: Parsed } {
  let out = ''
  for (const status of s.informational) out += `HTTP/1.1 ${status} Info\r\nx-info: 1\r\n\r\n`
  out += `HTTP/${s.http10 ? '1.0' : '1.1'} ${s.status} Some Reason\r\n`
  for (const [k, v] of s.headers) out += `${k}:  ${v} \r\n`
  if (s.connection !== undefined) out += `CoNNection: ${s.connection}\r\n`
  const total = s.body.reduce((a, b) => a + b, 0)
  const bodiless = s.head || s.status === 204 || s.status === 304
  if (s.framing === 'length') out += `Content-Length: ${total}\r\n`
  if (s.framing === 'chunked') out += 'Transfer-Encoding: chunked\r\n'
  out += '\r\n'
  const parts = [Buffer.from(out, 'latin1')]
  if (!bodiless) {
    if (s.framing === 'chunked') {
      for (const n of s.body)
        if (n > 0)
          parts.push(
            Buffer.from(`${n.toString(16)}${s.chunkExtension ? ';ext=1' : ''}\r\n${'x'.repeat(n)}\r\n`),
          )
      parts.push(Buffer.from('0\r\nx-trailer: t\r\n\r\n'))
    } else if (s.framing === 'length' || s.framing === 'none') parts.push(Buffer.from('y'.repeat(total)))
  }
  let keepAlive = s.connection === undefined ? !s.http10 : s.connection === 'keep-alive'
  if (!bodiless && s.framing === 'none') keepAlive = false
  return {
    bytes: Buffer.concat(parts),
    expected: { status: s.status, bodyBytes: bodiless ? 0 : total, keepAlive },
  }
}

const spec: fc.Arbitrary<Spec> = fc.record({
  status: fc.constantFrom(200, 201, 204, 301, 304, 404, 500, 503),
  informational: fc.array(fc.constantFrom(100, 103), { maxLength: 2 }),
  framing: fc.constantFrom('length', 'chunked', 'none'),
  body: fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 4 }),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom('Date', 'content-type', 'X-Custom', 'keep-alive', 'Server', 'content-lengthx'),
      fc.stringMatching(/^[a-zA-Z0-9 ,;=/-]{0,40}$/),
    ),
    { maxLength: 6 },
  ),
  connection: fc.constantFrom('keep-alive', 'close', undefined),
  head: fc.boolean(),
  http10: fc.boolean(),
  chunkExtension: fc.boolean(),
})

/** Parses a stream of responses split at `cuts`, the way reads would deliver it, into a reused read buffer. */
function parseAll(
  bytes: Buffer,
  cuts: number[],
  heads: boolean[],
  finish: boolean,
): { got: Parsed[]; last: number } {
  const got: Parsed[] = []
  const parser = new ResponseParser({
    bodiless: () => heads[got.length] ?? false,
    onResponse: (status, bodyBytes, keepAlive) => {
      got.push({ status, bodyBytes, keepAlive })
    },
  })
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const read = Buffer.alloc(bytes.length + 16)
  let from = 0
  let last = PARSE_OK
  for (const to of [...points, bytes.length]) {
    if (to <= from) continue
    // The caller reuses its read buffer: stale bytes beyond `end` must never be read.
    read.fill(0x0a)
    bytes.copy(read, 0, from, to)
    last = parser.execute(read, 0, to - from)
    from = to
    if (last !== PARSE_OK) break
  }
  if (finish && last === PARSE_OK) parser.finish()
  return { got, last }
}

describe('ResponseParser (property-based)', () => {
  it('reports every response of a keep-alive stream, whatever the read boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (specs, cuts) => {
          // Only the last response may end the connection (close, or a body delimited by the close).
          const stream = specs.map((s, i) =>
            i < specs.length - 1
              ? serialize({
                  ...s,
                  http10: false,
                  connection: 'keep-alive',
                  framing: s.framing === 'none' ? 'length' : s.framing,
                })
              : serialize(s),
          )
          const bytes = Buffer.concat(stream.map((x) => x.bytes))
          const { got, last } = parseAll(
            bytes,
            cuts,
            specs.map((s) => s.head),
            true,
          )
          expect(last).not.toBe(PARSE_ERROR)
          expect(got).toEqual(stream.map((x) => x.expected))
        },
      ),
      { numRuns: 400 },
    )
  })

  it('never throws on arbitrary bytes, and stops with PARSE_ERROR on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 6 }), (raw, cuts) => {
        const bytes = Buffer.from(raw)
        expect(() => parseAll(bytes, cuts, [], true)).not.toThrow()
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(
        fc.constantFrom(
          'HTTP/2 200 OK\r\n\r\n',
          'HTTP/1.1 2000 OK\r\n\r\n',
          'HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\n',
          'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n',
          'HTTP/1.1 200 OK\r\n folded\r\n\r\n',
          'HTTP/1.1 200 OK\r\nno colon\r\n\r\n',
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n',
          'HTTP/1.1 101 Switching Protocols\r\n\r\n',
          'garbage\r\n',
        ),
        fc.array(fc.nat(), { maxLength: 4 }),
        (text, cuts) => {
          const { last } = parseAll(Buffer.from(text, 'latin1'), cuts, [], false)
          expect(last).toBe(PARSE_ERROR)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('refuses a head larger than 64 KiB', () => {
    const big = `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\ncontent-length: 0\r\n\r\n`
    const { last, got } = parseAll(Buffer.from(big), [100, 40_000], [], false)
    expect(last).toBe(PARSE_ERROR)
    expect(got).toEqual([])
  })

  it('stops after a connection: close response and ignores what follows', () => {
    const bytes = Buffer.from(
      'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n',
    )
    const { last, got } = parseAll(bytes, [], [], false)
    expect(last).toBe(PARSE_CLOSE)
    expect(got).toEqual([{ status: 200, bodyBytes: 2, keepAlive: false }])
  })
})
