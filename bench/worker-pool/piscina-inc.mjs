// piscina's worker for the same trivial task.
export default (x) => x + 1
