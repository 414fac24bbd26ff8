#!/usr/bin/env node
// `dripdrop <command> …`: one binary, one module per command. Each command returns its exit code.
import { keysCommand } from './keys-command.js'

const COMMANDS: Record<string, { run: (args: string[]) => number | Promise<number>; summary: string }> = {
  keys: {
    run: keysCommand,
    summary: 'keys generate [--out dir] [--name name] [--force]   write a CURVE key pair',
  },
}

const usage = `usage: dripdrop <command> [options]\n\ncommands:\n${Object.entries(COMMANDS)
  .map(([, c]) => `  ${c.summary}`)
  .join('\n')}`

const [command, ...rest] = process.argv.slice(2)
if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  console.log(usage)
  process.exit(command === undefined ? 2 : 0)
}
const entry = COMMANDS[command]
if (entry === undefined) {
  console.error(`dripdrop: unknown command "${command}"\n${usage}`)
  process.exit(2)
}
process.exitCode = await entry.run(rest)
