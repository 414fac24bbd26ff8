// A dripdrop node answers an Erlang peer: the request frame is written by Erlang's term_to_binary (escript),
// handed over as bytes through a raw ZeroMQ DEALER to a zmq `rep` route with `codec: 'bert'`, and the reply frame
// is read back by Erlang's binary_to_term. Lives in the repo project because it needs @dripdrop/zmq, which
// depends on @dripdrop/codec (the codec package cannot import it).
import { BertCodec } from '@dripdrop/codec'
import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { escript } from '../packages/codec/test/erlang.js'

const fromHex = (text: string) => new Uint8Array(Buffer.from(text.trim(), 'hex'))
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

async function bertServer(codec: 'bert' | BertCodec = 'bert') {
  const node = new Node({ name: 'bert', transports: [zmqTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('math', { type: 'rep', bind: 'tcp://127.0.0.1:*', codec })
  route.on('add', ({ body }) => (body as number[])[0] + (body as number[])[1])
  route.on('fail', () => {
    throw Object.assign(new Error('no such sum'), { code: 'E_SUM' })
  })
  await node.start()
  const dealer = new zmq.Dealer()
  onTestFinished(() => {
    dealer.linger = 0
    dealer.close()
  })
  dealer.connect(route.endpoints[0])
  return { route, dealer }
}

// Sends one frame and returns the one-part reply.
async function ask(dealer: zmq.Dealer, frame: Uint8Array): Promise<Uint8Array> {
  await dealer.send(frame)
  const parts = await dealer.receive()
  expect(parts).toHaveLength(1)
  return new Uint8Array(parts[0])
}

describe('a dripdrop node with a BERT route answers Erlang', () => {
  it('a request built by term_to_binary gets a reply that binary_to_term reads as {1, <<"add">>, #{<<"$re">> => 1}, 5}', async () => {
    const { route, dealer } = await bertServer()
    const request = fromHex(escript(['term', 'request']))
    expect(request[0]).toBe(131)
    const reply = await ask(dealer, request)
    // The `check` mode compares the reply with the escript's "reply" term using =:=.
    expect(escript(['check'], `reply ${toHex(reply)}\n`).trim()).toBe('ok reply')
    expect(route.stats.decodeErrors).toBe(0)
  })

  it('an error reply is a map Erlang reads, with $err true; a BertCodec instance works the same', async () => {
    const { dealer } = await bertServer(new BertCodec({ maxMessageBytes: 1 << 20 }))
    const reply = await ask(dealer, fromHex(escript(['term', 'request.fail'])))
    const printed = escript(['reply', toHex(reply)])
    expect(printed).toMatch(/^\{1,<<"fail">>,/)
    expect(printed).toMatch(/<<"\$re">> => 2/)
    expect(printed).toMatch(/<<"\$err">> => true/)
    expect(printed).toMatch(/<<"message">> => <<"no such sum">>/)
  })

  it('a frame Erlang cannot have meant (a pid inside) is counted and the route goes on', async () => {
    const { route, dealer } = await bertServer()
    // {1, <<"p">>, #{}, Pid}: valid external format, refused by the codec (DD_ERR_DECODE_SHAPE).
    const pid = fromHex(
      escript(['emit'])
        .split('\n')
        .find((l) => l.startsWith('pid '))!
        .split(' ')[1],
    )
    await dealer.send(pid)
    const reply = await ask(dealer, fromHex(escript(['term', 'request'])))
    expect(escript(['check'], `reply ${toHex(reply)}\n`).trim()).toBe('ok reply')
    // The pid frame came first on the same connection, so it has been read (and refused) by now.
    expect(route.stats.decodeErrors).toBe(1)
  })
})

describe('codec by name', () => {
  it('a route or node codec name other than msgpack, json or bert is refused with its path', () => {
    const node = new Node({ name: 'names', codec: 'bert' })
    onTestFinished(() => {
      node.destroy()
    })
    expect(() => node.route('x', { type: 'push', bind: 'inproc://x', codec: 'xml' as never })).toThrow(
      new TypeError('route "x": options.codec must be a Codec or "msgpack", "json" or "bert", got "xml"'),
    )
    expect(() => new Node({ codec: 'BERT' as never })).toThrow(
      new TypeError('options.codec must be a Codec or "msgpack", "json" or "bert", got "BERT"'),
    )
  })
})
