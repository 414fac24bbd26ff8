export { EXIT, runCommand } from './commands/run.js'
export { parseDuration } from './duration.js'
export { program } from './program.js'
export { ProgressLine } from './progress.js'
