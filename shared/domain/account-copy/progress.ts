import { log } from '../../log';
import type { JobProgress } from '../../model/jobs';

/** How often a running job writes its counts at most (one small update each time). */
export const PROGRESS_INTERVAL_MS = 500;

/**
 * The counts of a running export or import (README "Your data"): `done` of `total` per kind
 * of item, written to the job at most once per interval while the job goes on, so that the
 * status the API answers moves. A write that fails is only logged: progress is a view, the
 * job goes on.
 */
export class JobProgressReporter {
  private readonly counts: JobProgress = {};
  private lastWrite = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: (progress: JobProgress) => Promise<void>,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  total(kind: string, total: number): void {
    this.count(kind).total = total;
  }

  add(kind: string, done = 1): void {
    this.count(kind).done += done;
    this.tick();
  }

  /** The counts as they are now. */
  snapshot(): JobProgress {
    return structuredClone(this.counts);
  }

  /** Writes the counts if the interval has passed and no write is under way. */
  tick(): void {
    if (this.writing || Date.now() - this.lastWrite < this.intervalMs) return;
    this.start();
  }

  /** Writes the counts now (after the one under way), and waits for it. */
  async flush(): Promise<void> {
    await this.writing;
    this.start();
    await this.writing;
  }

  /** Waits for the write under way, if any. */
  async settled(): Promise<void> {
    await this.writing;
  }

  private count(kind: string): JobProgress[string] {
    this.counts[kind] ??= { done: 0 };
    return this.counts[kind];
  }

  private start(): void {
    this.lastWrite = Date.now();
    this.writing = this.write(this.snapshot())
      .catch((err) => log.warn('job progress not recorded', { err }))
      .finally(() => {
        this.writing = undefined;
      });
  }
}
