/** The engines {@link exportTopology} renders for. */
export type ExportFormat = 'kubernetes' | 'compose' | 'systemd'

/** Every format {@link exportTopology} knows, in the order the CLI lists them. */
export const EXPORT_FORMATS: readonly ExportFormat[] = Object.freeze(['kubernetes', 'compose', 'systemd'])

/** Options of {@link exportTopology}. */
export interface ExportOptions {
  /** What to render for. */
  format: ExportFormat
  /**
   * Container image (kubernetes, compose). It must hold the app at {@link ExportOptions.workdir} with its
   * `node_modules` (and tsx for `.ts` entries): build one from your repository, e.g. `FROM node:20-slim`,
   * `COPY . /app`, `RUN npm ci`. compose mounts {@link ExportOptions.root} there read-only when no image is
   * given. @default 'node:20-slim'
   */
  image?: string
  /**
   * The app's directory on this machine: it holds every entry module, and entry paths are written relative to
   * it. @default process.cwd()
   */
  root?: string
  /**
   * Where the app's root is when it runs: inside the container (kubernetes, compose) or on the host (systemd).
   * @default '/app' for containers; the absolute `root` for systemd
   */
  workdir?: string
  /**
   * Kubernetes namespace: written into every object and into the Service DNS names connects resolve to
   * (`<service>.<namespace>.svc`). Without it, objects go to the namespace `kubectl` applies them to and
   * connects use bare Service names, which resolve inside that namespace. @default undefined
   */
  namespace?: string
  /** systemd: the node executable (an absolute path). @default '/usr/bin/node' */
  node?: string
  /** systemd: the user the units run as (`User=`). @default undefined (root, systemd's default) */
  user?: string
  /**
   * compose: the directory the file will be written to, so a mounted root is written relative to it (compose
   * resolves relative paths from the file's directory). @default root
   */
  outDir?: string
}

/** {@link ExportOptions} with the defaults filled in. */
export interface FilledExportOptions {
  format: ExportFormat
  image: string
  /** Whether `image` was given (compose mounts the root into the default image). */
  imageGiven: boolean
  root: string
  workdir: string
  namespace: string | undefined
  node: string
  user: string | undefined
  outDir: string
}

/** One rendered file: a path relative to the output directory and its text. */
export interface ExportedFile {
  /** Relative, `/`-separated (`kubernetes.yaml`, `b/dripdrop-shop-worker@.service`). */
  path: string
  content: string
}
