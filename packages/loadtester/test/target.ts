import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { onTestFinished } from 'vitest'

export const CERT = readFileSync(new URL('./fixtures/cert.pem', import.meta.url))
const KEY = readFileSync(new URL('./fixtures/key.pem', import.meta.url))

/** What the target does with request number `n` (1-based). Default: 200 "ok". */
export type Behaviour = (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void

export interface Target {
  url: string
  /** Requests received so far. */
  count(): number
}

/** A real HTTP (or HTTPS) target on 127.0.0.1, an OS-assigned port, closed when the test finishes. */
export async function startTarget(behaviour?: Behaviour, options: { tls?: boolean } = {}): Promise<Target> {
  let n = 0
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    n++
    req.resume()
    if (behaviour === undefined) res.end('ok')
    else behaviour(n, req, res)
  }
  const server = options.tls
    ? https.createServer({ cert: CERT, key: KEY }, handler)
    : http.createServer(handler)
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const { port } = server.address() as AddressInfo
  return { url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, count: () => n }
}

/** A port that was just free: listen(0), note the port, close. Connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
