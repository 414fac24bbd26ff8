import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// This file sits one level under the package root both as src/browser-client.ts and dist/browser-client.js,
// so the same relative URL finds the client in either layout.
const CLIENT_URL = new URL('../src/browser/dripdrop-client.js', import.meta.url)

let cached: string | undefined

/**
 * Absolute path of the browser client, a dependency-free ES module (also importable as
 * `@dripdrop/bridges/browser`). Serve it to browsers as `text/javascript`.
 */
export function browserClientPath(): string {
  return fileURLToPath(CLIENT_URL)
}

/** Source text of the browser client, read once. `ws-server` routes serve it at `/dripdrop-client.js`. */
export function browserClientSource(): string {
  cached ??= readFileSync(CLIENT_URL, 'utf8')
  return cached
}
