import { Node } from '@dripdrop/core'
import { onTestFinished } from 'vitest'
import { httpTransport } from '../../src/index.js'

/**
 * An `http-server` route on an OS-assigned port, destroyed when the test finishes. `start()` opens it and
 * returns its base URL.
 */
export function httpServer(routes: Record<string, string>, options: Record<string, unknown> = {}) {
  const node = new Node({ name: 'api', transports: [httpTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const api = node.route('api', { type: 'http-server', bind: 'http://127.0.0.1:0', routes, ...options })
  const start = async () => {
    await node.start()
    return api.endpoints[0]
  }
  return { node, api, start }
}
