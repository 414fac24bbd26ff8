/** What a task function gets besides its arguments. */
export interface TaskContext {
  /**
   * Aborted when the pool abandons the task (its caller aborted, or its timeout passed on a remote worker).
   * Cooperative tasks watch it and stop early; its result is dropped either way.
   */
  readonly signal: AbortSignal
}

/** A task: a plain function of one structured-clone/msgpack-able argument. */
export type TaskFunction<A = any, R = any> = (args: A, context: TaskContext) => R | Promise<R>

const TASK = Symbol.for('dripdrop.worker-pool.task')

/**
 * A typed handle on a task in a tasks module, what {@link Pool.defer} takes. It carries the name only over the
 * wire; `fn` is the function itself, used by the worker that loads the module.
 */
export interface Task<A = any, R = any> {
  readonly [TASK]: true
  /** The task's name: its key in the object given to {@link defineTasks}. */
  readonly taskName: string
  readonly fn: TaskFunction<A, R>
}

/** The handles {@link defineTasks} returns, one per function, with argument and result types kept. */
export type Tasks<T extends Record<string, TaskFunction>> = {
  readonly [K in keyof T & string]: T[K] extends (args: infer A, ...rest: any[]) => infer R
    ? Task<A, Awaited<R>>
    : never
}

/**
 * Declares the tasks of a module. Export the result as the module's default export; pass the module's URL to
 * `createPool({ tasks })` or `dripdrop-worker --tasks`, and its handles to `pool.defer`.
 *
 * @example
 * ```ts
 * // tasks.ts
 * export default defineTasks({
 *   add: (args: { a: number; b: number }) => args.a + args.b,
 *   resize: async (args: { width: number }, { signal }) => …,
 * })
 * // main.ts
 * import tasks from './tasks.js'
 * const pool = await createPool({ tasks: new URL('./tasks.js', import.meta.url) })
 * const sum: number = await pool.defer(tasks.add, { a: 1, b: 2 })
 * ```
 */
export function defineTasks<T extends Record<string, TaskFunction>>(fns: T): Tasks<T> {
  const out: Record<string, Task> = {}
  for (const [name, fn] of Object.entries(fns)) {
    if (typeof fn !== 'function') throw new TypeError(`tasks.${name} must be a function`)
    out[name] = Object.freeze({ [TASK]: true as const, taskName: name, fn })
  }
  return Object.freeze(out) as Tasks<T>
}

/** True for a handle made by {@link defineTasks}. */
export function isTask(value: unknown): value is Task {
  return typeof value === 'object' && value !== null && (value as Task)[TASK] === true
}

/**
 * Reads the task functions out of a loaded tasks module: its default export (from {@link defineTasks}, or a
 * plain object of functions), else its named function exports.
 */
export function taskFunctions(mod: Record<string, unknown>): Map<string, TaskFunction> {
  const source = (typeof mod.default === 'object' && mod.default !== null ? mod.default : mod) as Record<
    string,
    unknown
  >
  const map = new Map<string, TaskFunction>()
  for (const [name, value] of Object.entries(source)) {
    if (isTask(value)) map.set(name, value.fn)
    else if (typeof value === 'function') map.set(name, value as TaskFunction)
  }
  return map
}
