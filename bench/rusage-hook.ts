/**
 * Preloaded into a benchmarked process (`node --import …/rusage-hook.js`): at exit it writes the process's own
 * resource usage (CPU time, peak RSS) to $BENCH_RUSAGE_OUT. The code under measurement is not changed at all.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.BENCH_RUSAGE_OUT;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMb: u.maxRSS / 1024 }));
  });
}
