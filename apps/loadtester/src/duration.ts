const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h`, `1m30s`, or a bare number of seconds, into ms.
 * Throws a `RangeError` naming the value otherwise.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const s = text.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy
  let total = 0
  let m: RegExpExecArray | null
  let end = 0
  for (m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number)
    end = re.lastIndex
  }
  if (end !== s.length || end === 0 || total <= 0)
    throw new RangeError(`${what} must look like 500ms, 30s, 2m or 1m30s, got "${text}"`)
  return Math.round(total)
}
