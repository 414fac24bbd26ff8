import { keysCommand as runKeys } from '@dripdrop/zmq/keys-command'
import type { Command } from 'commander'

/** `dripdrop keys generate [--out dir] [--name name] [--force]`: @dripdrop/zmq's key command. */
export function keysCommand(program: Command): void {
  program
    .command('keys')
    .description('keys generate [--out dir] [--name name] [--force]: write a CURVE key pair')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action((args: string[]) => {
      process.exitCode = runKeys(args, 'dripdrop keys')
    })
}
