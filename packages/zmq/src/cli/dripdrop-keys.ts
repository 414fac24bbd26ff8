#!/usr/bin/env node
// `dripdrop-keys generate …`: the CURVE key command for users of @dripdrop/zmq alone. The `dripdrop` binary
// (@dripdrop/roles) runs the same command as `dripdrop keys generate …`.
import { keysCommand } from './keys-command.js'

process.exitCode = keysCommand(process.argv.slice(2), 'dripdrop-keys')
