import { log } from '../../shared/log';

/**
 * Keeps one engine of the local runtime (DynamoDB Local, the S3 emulator) running: when it
 * stops without being asked to, its dependants are paused, it is started again on the same
 * port and the same data, and its dependants resumed, with one line saying what happened
 * and one saying it is back. When it cannot come back with its data (an in-memory DynamoDB
 * Local), keeps dying (a crash loop) or fails to start again, `onFatal` gets one clear
 * message and the supervisor gives up: the runtime then stops as a whole rather than answer
 * every call with an error.
 */

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** An engine as started: how to name it in messages, when it ends, how to stop it. */
export interface RunningEngine {
  /** e.g. "pid 1234 on port 8000". */
  describe: string;
  /** Settles when the engine has stopped, asked or not. */
  exited: Promise<EngineExit>;
  stop(): Promise<void>;
}

export interface SuperviseOptions<E extends RunningEngine> {
  name: string;
  start: () => Promise<E>;
  /** Set when the engine cannot come back with its data: the reason, for the fatal message. */
  cannotRestart?: string;
  /** Before a restart: pause what depends on the engine (pollers would only log errors). */
  onDown?: () => Promise<void>;
  /** After a restart: make the engine ready again (tables) and resume its dependants. */
  onUp?: (engine: E) => Promise<void>;
  /** The engine is gone for good; the message says what happened and what to do. */
  onFatal: (message: string) => void;
  /** Crash-loop guard: more restarts than this within `restartWindowMs` is fatal. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Attempts to start it again, `retryDelayMs` apart (the port may still be closing). */
  startAttempts?: number;
  retryDelayMs?: number;
}

export interface Supervised<E extends RunningEngine> {
  current(): E;
  /** Restarts done so far. */
  restarts(): number;
  /** Settles once a restart in progress (if any) is over. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const how = (exit: EngineExit) => (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function supervise<E extends RunningEngine>(options: SuperviseOptions<E>): Promise<Supervised<E>> {
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.restartWindowMs ?? 10 * 60_000;
  const attempts = options.startAttempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  let engine = await options.start();
  let stopping = false;
  let gaveUp = false;
  const restartTimes: number[] = [];
  let restartCount = 0;
  let restarting: Promise<void> = Promise.resolve();

  const fatal = (message: string) => {
    gaveUp = true;
    options.onFatal(message);
  };

  const restart = async (died: E, exit: EngineExit) => {
    const what = `${options.name} (${died.describe}) stopped unexpectedly (${how(exit)})`;
    if (options.cannotRestart) return fatal(`${what}; ${options.cannotRestart}`);
    const now = Date.now();
    restartCount++;
    restartTimes.push(now);
    while (restartTimes.length > 0 && restartTimes[0]! < now - windowMs) restartTimes.shift();
    if (restartTimes.length > maxRestarts) {
      return fatal(
        `${what}: ${restartTimes.length} stops within ${Math.round(windowMs / 60_000)} min, so it is not restarted again. Look at what stops it, then start the runtime again.`,
      );
    }
    log.error(`${what}: restarting it on the same port and data`, { engine: options.name });
    const began = Date.now();
    await options.onDown?.().catch((err) => log.error(`${options.name}: pausing its dependants failed`, { err }));
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts && !stopping; attempt++) {
      try {
        const started = await options.start();
        if (stopping) {
          await started.stop();
          return;
        }
        engine = started;
        watch(started);
        await options.onUp?.(started);
        log.info(`${options.name} is back (${started.describe}) after ${Date.now() - began} ms`, { engine: options.name });
        return;
      } catch (err) {
        lastError = err;
        if (attempt < attempts) await sleep(retryDelayMs);
      }
    }
    if (!stopping) {
      const reason = lastError instanceof Error ? lastError.message.split('\n')[0] : String(lastError);
      fatal(`${what} and could not be started again after ${attempts} attempts: ${reason}`);
    }
  };

  const watch = (running: E) => {
    void running.exited.then((exit) => {
      if (stopping || gaveUp || running !== engine) return;
      restarting = restarting.then(() => restart(running, exit));
    });
  };
  watch(engine);

  return {
    current: () => engine,
    restarts: () => restartCount,
    settled: () => restarting,
    stop: async () => {
      stopping = true;
      await restarting.catch(() => undefined);
      await engine.stop();
    },
  };
}
