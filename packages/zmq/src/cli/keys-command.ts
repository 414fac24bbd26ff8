import { mkdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { generateKeyPair, writeKeyPair } from '../curve/keys.js'
import { DripdropError } from '../errors.js'

/**
 * `dripdrop keys generate [--out dir] [--name name] [--force]` (or `dripdrop-keys generate …`): writes a new CURVE key pair as
 * `<dir>/<name>.key` (secret, mode 0600) and `<dir>/<name>.pub`, and prints the file names and the public key
 * (never the secret). `--out` defaults to the current directory, `--name` to `dripdrop`. Refuses to overwrite
 * either file without `--force`. Exit codes: 0 written, 1 refused or failed, 2 bad usage. `prog` is how the
 * messages name the command.
 */
export function keysCommand(args: string[], prog = 'dripdrop keys'): number {
  const usage = `usage: ${prog} generate [--out dir] [--name name] [--force]`
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args)
  } catch (err) {
    console.error(`${prog}: ${(err as Error).message}\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.log(usage)
    return 0
  }
  if (positionals.length !== 1 || positionals[0] !== 'generate') {
    console.error(`${prog}: expected "generate"\n${usage}`)
    return 2
  }
  const dir = values.out ?? '.'
  const name = values.name ?? 'dripdrop'
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) {
    console.error(`${prog}: --name must be a plain file name (letters, digits, ._-), got "${name}"`)
    return 2
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const pair = generateKeyPair()
    const files = writeKeyPair(dir, name, pair, values.force === true)
    console.log(`secret key: ${files.key} (mode 0600, keep it on this host)`)
    console.log(`public key: ${files.pub}`)
    console.log(pair.publicKey)
    return 0
  } catch (err) {
    const code = err instanceof DripdropError ? `${err.code}: ` : ''
    console.error(`${prog}: ${code}${(err as Error).message}`)
    return 1
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      name: { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
