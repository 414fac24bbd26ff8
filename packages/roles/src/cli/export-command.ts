import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { DripdropError } from '../errors.js'
import { exportTopology } from '../export/export-topology.js'
import { EXPORT_FORMATS, type ExportFormat, type ExportOptions } from '../export/types.js'
import { loadTopology } from '../topology/load.js'

/** Options of `dripdrop export`. */
interface ExportCommandOptions {
  format: ExportFormat
  out: string
  image?: string
  root: string
  workdir?: string
  namespace?: string
  node?: string
  user?: string
}

/**
 * `dripdrop export --format kubernetes|compose|systemd [--out dir|-] [--image img] [--root dir]
 * [--workdir path] [--namespace ns] [--node path] [--user user] <topology>`: renders the topology with
 * {@link exportTopology} and writes the files into `--out` (created when missing; files of the same name are
 * replaced), or prints them (`-`, the default; several files are each headed by a `# ==> path <==` line).
 * Exit codes: 0 rendered, 1 the topology or the export failed, 2 bad usage.
 */
export function exportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'render the topology for Kubernetes (kubernetes.yaml), Docker Compose (compose.yaml) or systemd (units per host)',
    )
    .argument('<topology>', 'topology file: .yaml, .yml, .json, .ts, .js')
    .addOption(
      new Option('-f, --format <format>', 'what to render for').choices(EXPORT_FORMATS).makeOptionMandatory(),
    )
    .option('-o, --out <dir>', 'directory to write the files to, or - for stdout', '-')
    .option('--image <image>', 'container image holding the app (kubernetes, compose; default node:20-slim)')
    .option('--root <dir>', 'the app root: holds every entry module; entries are written relative to it', '.')
    .option(
      '--workdir <path>',
      'where the app root is at run time (default /app in containers, the root for systemd)',
    )
    .option('-n, --namespace <namespace>', 'Kubernetes namespace of the objects and of the Service DNS names')
    .option('--node <path>', 'systemd: absolute path of node (default /usr/bin/node)')
    .option('--user <user>', 'systemd: run the units as this user')
    .action(async (file: string, options: ExportCommandOptions) => {
      process.exitCode = await runExport(file, options)
    })
}

async function runExport(file: string, options: ExportCommandOptions): Promise<number> {
  const toStdout = options.out === '-'
  const exportOptions: ExportOptions = { format: options.format, root: options.root }
  for (const key of ['image', 'workdir', 'namespace', 'node', 'user'] as const)
    if (options[key] !== undefined) exportOptions[key] = options[key]
  if (!toStdout) exportOptions.outDir = resolve(options.out)
  try {
    const files = exportTopology(await loadTopology(file), exportOptions)
    if (toStdout) {
      const many = files.length > 1
      for (const f of files) process.stdout.write(many ? `# ==> ${f.path} <==\n${f.content}\n` : f.content)
      return 0
    }
    for (const f of files) {
      const path = join(options.out, f.path)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, f.content)
      console.log(`wrote ${path}`)
    }
    return 0
  } catch (err) {
    // A topology or export error names its code; a file that cannot be written says why (EACCES, ENOSPC…).
    const code = err instanceof DripdropError ? `${err.code}: ` : ''
    console.error(`dripdrop export: ${code}${(err as Error).message}`)
    return 1
  }
}
