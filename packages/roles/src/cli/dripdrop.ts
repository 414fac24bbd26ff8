#!/usr/bin/env node
// `dripdrop <command> …`: one binary, one module per command, parsed with commander. Each module adds its
// command to the program; add a line to COMMANDS for a new one.
import { Command } from 'commander'
import { agentCommand } from './agent.js'
import { controlCommands } from './control.js'
import { exportCommand } from './export-command.js'
import { keysCommand } from './keys.js'
import { startCommand } from './start.js'

/** Every command of the `dripdrop` binary: each registers itself on the program. */
const COMMANDS: ((program: Command) => void)[] = [
  startCommand,
  keysCommand,
  exportCommand,
  (program) => program.addCommand(agentCommand()),
  controlCommands,
]

const program = new Command('dripdrop')
  .description('Run a dripdrop app by role: one topology file says which role runs where.')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own exits (--help, --version, usage errors): 0 for help, 2 for bad usage.
    process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2)
  })
for (const register of COMMANDS) register(program)
if (process.argv.length <= 2) {
  program.outputHelp({ error: true })
  process.exit(2)
}
await program.parseAsync(process.argv)
