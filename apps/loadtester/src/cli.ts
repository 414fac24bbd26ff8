#!/usr/bin/env node
import { program } from './program.js'

program({
  stdout: process.stdout,
  stderr: process.stderr,
  setExitCode: (code) => {
    process.exitCode = code
  },
})
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`dripdrop-load: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 2
  })
