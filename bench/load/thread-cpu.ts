import { readFileSync } from 'node:fs';

/**
 * CPU time of this process's main thread (the event loop), in milliseconds, from Linux's
 * /proc/self/task/<pid>/stat (clock ticks of 10 ms); NaN where that file does not exist. Node 20
 * has no per-thread CPU call, and `process.cpuUsage()` adds the synthesis workers' time, while
 * the event loop is the thread that saturates first under load.
 */
export function mainThreadCpuMs(): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // Fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
