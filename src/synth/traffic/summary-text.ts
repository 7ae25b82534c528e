/** The words of a step's one-line summary: endpoints, counts, durations. */

export function epText(e: { host: string | null; addr: string; version: 4 | 6; port: number | null }): string {
  const a = e.version === 6 && e.port !== null ? `[${e.addr}]` : e.addr;
  const where = e.port === null ? a : `${a}:${e.port}`;
  return e.host !== null ? `${e.host} ${where}` : where;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function formatDuration(us: number): string {
  if (us % 3_600_000_000 === 0 && us > 0) return `${us / 3_600_000_000}h`;
  if (us % 60_000_000 === 0 && us > 0) return `${us / 60_000_000}m`;
  if (us % 1_000_000 === 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}
