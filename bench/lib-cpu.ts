/**
 * CPU time of processes from /proc (user + system). CPU per request or per task is what the benches compare:
 * unlike req/s it barely moves when other work shares the machine.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

interface ProcStat {
  ppid: number
  ticks: number
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state ppid … utime(12th) stime(13th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
  } catch {
    return undefined // the process ended while we read it
  }
}

/** CPU time (ms) of a process and all its descendants (RabbitMQ, `--workers N` and wrappers are trees). */
export function treeCpuMs(root: number): number {
  const stats = new Map<number, ProcStat>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(Number(entry))
    if (stat) stats.set(Number(entry), stat)
  }
  let total = 0
  for (const [pid, stat] of stats) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = stats.get(p)?.ppid) {
      if (p === root) {
        total += stat.ticks
        break
      }
    }
  }
  return (total / TICKS_PER_SECOND) * 1000
}

/** CPU time (ms) of some processes, each without its descendants. */
export function cpuMs(pids: number[]): number {
  const ticks = pids.reduce((sum, pid) => sum + (readStat(pid)?.ticks ?? 0), 0)
  return (ticks / TICKS_PER_SECOND) * 1000
}

/** CPU (ms) each named process tree spent while `run` ran. */
export async function measureCpu<T>(
  pids: Record<string, number | undefined>,
  run: () => Promise<T>,
): Promise<{ result: T; cpuMs: Record<string, number> }> {
  const entries = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined)
  const before = entries.map(([, pid]) => treeCpuMs(pid))
  const result = await run()
  const cpuMs = Object.fromEntries(entries.map(([name, pid], i) => [name, treeCpuMs(pid) - (before[i] ?? 0)]))
  return { result, cpuMs }
}

/**
 * CPU time (ms) the whole machine spent busy, all cores summed (/proc/stat's first line minus idle and iowait):
 * with the contenders', Redis's and the load generator's own figures it says whether the cores were the limit.
 */
export function machineBusyMs(): number {
  const [, ...fields] = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/)
  const ticks = fields.map(Number)
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + (t || 0), 0) // user … steal (guest time is in user)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return ((total - idle) / TICKS_PER_SECOND) * 1000
}
