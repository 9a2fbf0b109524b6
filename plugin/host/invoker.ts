// Whether whoever started this command is still there. limactl forwards no signals to a plugin
// and exits with it killed (LIMA-FACTS.md §9): a SIGTERM to limactl alone, or a closed terminal,
// leaves `limactl limawan watch` running as an orphan. A command that runs until stopped polls
// for that and stops as if signalled. The launchd daemon is started by launchd, which stays.

/**
 * Calls `onGone` once when this process's parent changes (it died: the orphan was re-parented)
 * or when `invokerPid` — the limactl behind a sudo re-run (LIMAWAN_INVOKER_PID, main.ts), whose
 * death sudo does not pass on — has exited. Returns a canceller; the poll keeps nothing alive.
 */
export function whenInvokerGone(invokerPid: number | null, onGone: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent && (invokerPid === null || alive(invokerPid))) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // there, but another user's
  }
}
