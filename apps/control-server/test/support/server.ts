import { ControlServer, type ControlServerOptions } from '../../src/index.js'
import { onTestFinished } from 'vitest'

export const TOKEN = 'test-token-0123456789'

/** A control server on loopback, any free ports, closed when the test finishes. */
export async function startServer(options: ControlServerOptions = {}): Promise<ControlServer> {
  const server = new ControlServer({
    collector: 'tcp://127.0.0.1:*',
    http: 'http://127.0.0.1:0',
    ws: 'ws://127.0.0.1:0',
    token: TOKEN,
    ...options,
  })
  onTestFinished(() => server.close())
  await server.start()
  return server
}

export const auth = { authorization: `Bearer ${TOKEN}` }
