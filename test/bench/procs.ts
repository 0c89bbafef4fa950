import { readdirSync, readFileSync } from 'node:fs';

/**
 * The machine's processes from /proc, for the benches that count a process tree's CPU
 * (call-loop.ts, peer/side-by-side.ts, peer/tool-trace.ts). Ticks are USER_HZ (100 a second).
 */
export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  start: string;
  ticks: number;
  /** CPU of waited-for (reaped) children. */
  childTicks: number;
}

export function readProcs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    // after the command: state ppid … utime(12) stime(13) cutime(14) cstime(15) … starttime(20), 1-based from pid
    out.set(Number(name), {
      pid: Number(name),
      ppid: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, close),
      start: fields[19]!,
      ticks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
    });
  }
  return out;
}

export function descendants(roots: number[], procs: Map<number, Proc>): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>();
  const stack = roots.filter((r) => procs.has(r));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return seen;
}
