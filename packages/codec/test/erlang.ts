import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The escript that holds the Erlang side of the BERT interop tests. */
export const BERT_CASES = fileURLToPath(new URL('./fixtures/bert-cases.escript', import.meta.url))

/**
 * Runs `escript bert-cases.escript ...args` with `input` on stdin and returns its stdout. These tests prove the
 * BERT codec against Erlang itself, so a machine without Erlang fails them, saying how to install it (never a
 * silent skip). `env` replaces the environment (a test hides escript with it).
 */
export function escript(args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): string {
  const run = spawnSync('escript', [BERT_CASES, ...args], {
    input,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  })
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'escript (Erlang/OTP) is not installed: the BERT codec tests run Erlang itself. ' +
        'Install it with `apt-get install erlang-base` (Debian/Ubuntu; .ci/run does this when escript is missing), ' +
        '`brew install erlang` (macOS), or any Erlang/OTP >= 24 that puts escript on PATH.',
    )
  }
  if (run.error) throw run.error
  if (run.status !== 0) throw new Error(`escript ${args.join(' ')} exited with ${run.status}:\n${run.stderr}`)
  return run.stdout
}

/** Parses `Name Hex` lines into a map of name to bytes. */
export function hexLines(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const [name, hex] = line.split(' ')
    out.set(name, new Uint8Array(Buffer.from(hex, 'hex')))
  }
  return out
}
