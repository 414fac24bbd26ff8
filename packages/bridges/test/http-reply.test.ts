import { MsgpackCodec } from '@dripdrop/codec'
import { describe, expect, it } from 'vitest'
import { type HttpHead, HttpReply, httpReply } from '../src/index.js'
import { httpServer } from './support/http-server.js'

const server = async () =>
  httpServer({
    'POST /jobs': 'job.create',
    'GET /jobs/:id': 'job.get',
    'GET /old/:id': 'job.old',
    'DELETE /jobs/:id': 'job.delete',
    'POST /bad': 'bad',
  })

describe('httpReply', () => {
  it('sets the status and headers of a JSON response', async () => {
    const { api, start } = await server()
    api.on('job.create', ({ body }) =>
      httpReply(201, { id: '7', input: body }, { Location: '/jobs/7', 'x-job': 7 }),
    )
    const base = await start()
    const res = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe('/jobs/7')
    expect(res.headers.get('x-job')).toBe('7')
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('content-length')).toBe(String('{"id":"7","input":{"n":1}}'.length))
    expect(await res.json()).toEqual({ id: '7', input: { n: 1 } })
  })

  it('works from async handlers, with msgpack, and repeats array headers', async () => {
    const { api, start } = await server()
    api.on('job.get', async ({ head }) => {
      await new Promise((r) => setTimeout(r, 1))
      return httpReply(202, { id: (head as HttpHead).params.id }, { 'set-cookie': ['a=1', 'b=2'] })
    })
    const base = await start()
    const codec = new MsgpackCodec()
    const res = await fetch(`${base}/jobs/9`, { headers: { accept: 'application/msgpack' } })
    expect(res.status).toBe(202)
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(res.headers.get('content-type')).toBe('application/msgpack')
    expect(codec.decodeValue(new Uint8Array(await res.arrayBuffer()))).toEqual({ id: '9' })
  })

  it('answers a redirect or a 204 without a body', async () => {
    const { api, start } = await server()
    api.on('job.old', ({ head }) =>
      httpReply(308, undefined, { location: `/jobs/${(head as HttpHead).params.id}` }),
    )
    api.on('job.delete', () => httpReply(204, undefined, { 'x-deleted': 'yes' }))
    const base = await start()
    const moved = await fetch(`${base}/old/3`, { redirect: 'manual' })
    expect(moved.status).toBe(308)
    expect(moved.headers.get('location')).toBe('/jobs/3')
    expect(moved.headers.get('content-length')).toBe('0')
    expect(await moved.text()).toBe('')
    const gone = await fetch(`${base}/jobs/3`, { method: 'DELETE' })
    expect(gone.status).toBe(204)
    expect(gone.headers.get('x-deleted')).toBe('yes')
    expect(await gone.text()).toBe('')
  })

  it('refuses error statuses, bodies on 204, route-owned and invalid headers', () => {
    expect(() => httpReply(404, {})).toThrow(/200\.\.399/)
    expect(() => httpReply(199)).toThrow(/200\.\.399/)
    expect(() => httpReply(200.5)).toThrow(/200\.\.399/)
    expect(() => httpReply(204, 'x')).toThrow('httpReply: a 204 response has no body')
    expect(() => httpReply(200, 1, { 'Content-Type': 'text/plain' })).toThrow(/is set by the route/)
    expect(() => httpReply(200, 1, { 'content-length': '1' })).toThrow(/is set by the route/)
    expect(() => httpReply(200, 1, { 'bad name': 'x' })).toThrow(/headers\["bad name"\]/)
    expect(() => httpReply(200, 1, { 'x-a': 'line\nbreak' })).toThrow(/headers\["x-a"\]/)
    const reply = httpReply(201, { a: 1 }, { Location: '/a' })
    expect(reply).toBeInstanceOf(HttpReply)
    expect(reply).toMatchObject({ status: 201, body: { a: 1 }, headers: { Location: '/a' } })
  })

  it('turns an invalid reply built in a handler into a 500 and keeps serving', async () => {
    const { api, start } = await server()
    api.on('bad', () => httpReply(200, 1, { 'x-a': 'line\nbreak' }))
    api.on('job.create', () => httpReply(201, 'ok'))
    const base = await start()
    const bad = await fetch(`${base}/bad`, { method: 'POST' })
    expect(bad.status).toBe(500)
    expect(((await bad.json()) as any).error.message).toMatch(/^httpReply: headers\["x-a"\]/)
    const ok = await fetch(`${base}/jobs`, { method: 'POST' })
    expect(ok.status).toBe(201)
    expect(await ok.json()).toBe('ok')
  })
})
