import { beforeAll, describe, expect, it } from 'vitest';
import { type EngineExit, type RunningEngine, supervise } from '../../infra/local/engine-supervisor';

/** An engine whose end the test decides (the real engines are exercised in test/integration/engine-supervision.test.ts). */
class TestEngine implements RunningEngine {
  static started: TestEngine[] = [];
  exited: Promise<EngineExit>;
  stopped = false;
  private end!: (exit: EngineExit) => void;
  constructor(readonly describe: string) {
    this.exited = new Promise((resolve) => (this.end = resolve));
  }
  die(exit: EngineExit = { code: null, signal: 'SIGKILL' }) {
    this.end(exit);
  }
  async stop() {
    this.stopped = true;
    this.end({ code: 0, signal: null });
  }
}

function harness(options: { cannotRestart?: string; failStarts?: number; maxRestarts?: number } = {}) {
  const engines: TestEngine[] = [];
  const events: string[] = [];
  const fatal: string[] = [];
  let failures = options.failStarts ?? 0;
  let first = true;
  const start = async () => {
    if (!first && failures > 0) {
      failures--;
      throw new Error('port 8000 already in use\nmore detail');
    }
    first = false;
    const engine = new TestEngine(`pid ${100 + engines.length}`);
    engines.push(engine);
    return engine;
  };
  return {
    engines,
    events,
    fatal,
    run: () =>
      supervise({
        name: 'Test engine',
        start,
        ...(options.cannotRestart ? { cannotRestart: options.cannotRestart } : {}),
        onDown: async () => void events.push('down'),
        onUp: async (e) => void events.push(`up ${e.describe}`),
        onFatal: (m) => void fatal.push(m),
        retryDelayMs: 1,
        ...(options.maxRestarts !== undefined ? { maxRestarts: options.maxRestarts } : {}),
      }),
  };
}

describe('engine supervisor (local runtime)', () => {
  beforeAll(() => {
    process.env.LOG_LEVEL = 'silent';
  });
  it('restarts an engine that died: dependants paused, then resumed on the new one', async () => {
    const h = harness();
    const s = await h.run();
    h.engines[0]!.die();
    await new Promise((r) => setTimeout(r, 5));
    await s.settled();
    expect(h.engines).toHaveLength(2);
    expect(s.current()).toBe(h.engines[1]);
    expect(s.restarts()).toBe(1);
    expect(h.events).toEqual(['down', 'up pid 101']);
    expect(h.fatal).toEqual([]);
    // And again: each death gets its own restart.
    h.engines[1]!.die({ code: 137, signal: null });
    await new Promise((r) => setTimeout(r, 5));
    await s.settled();
    expect(s.current()).toBe(h.engines[2]);
    expect(s.restarts()).toBe(2);
    await s.stop();
    expect(h.engines[2]!.stopped).toBe(true);
  });

  it('an engine stopped on purpose is not restarted', async () => {
    const h = harness();
    const s = await h.run();
    await s.stop();
    await new Promise((r) => setTimeout(r, 5));
    await s.settled();
    expect(h.engines).toHaveLength(1);
    expect(h.events).toEqual([]);
    expect(h.fatal).toEqual([]);
  });

  it('an engine that cannot come back with its data is fatal, with a message saying what and why', async () => {
    const h = harness({ cannotRestart: 'it kept its data in memory, so the data is lost.' });
    const s = await h.run();
    h.engines[0]!.die();
    await new Promise((r) => setTimeout(r, 5));
    await s.settled();
    expect(h.engines).toHaveLength(1);
    expect(h.fatal).toEqual([
      'Test engine (pid 100) stopped unexpectedly (killed by SIGKILL); it kept its data in memory, so the data is lost.',
    ]);
    expect(h.events).toEqual([]);
  });

  it('gives up when the engine will not start again, naming the first line of the last error', async () => {
    const h = harness({ failStarts: 3 });
    const s = await h.run();
    h.engines[0]!.die({ code: 1, signal: null });
    await new Promise((r) => setTimeout(r, 20));
    await s.settled();
    expect(h.fatal).toEqual([
      'Test engine (pid 100) stopped unexpectedly (exit code 1) and could not be started again after 3 attempts: port 8000 already in use',
    ]);
  });

  it('starts again after a failed attempt when a later one works', async () => {
    const h = harness({ failStarts: 2 });
    const s = await h.run();
    h.engines[0]!.die();
    await new Promise((r) => setTimeout(r, 20));
    await s.settled();
    expect(h.fatal).toEqual([]);
    expect(s.current()).toBe(h.engines[1]);
  });

  it('a crash loop is fatal instead of restarting forever', async () => {
    const h = harness({ maxRestarts: 2 });
    const s = await h.run();
    for (let i = 0; i < 3; i++) {
      (s.current() as TestEngine).die(); // the current engine dies, again and again
      await new Promise((r) => setTimeout(r, 5));
      await s.settled();
    }
    expect(s.restarts()).toBe(3);
    expect(h.engines).toHaveLength(3);
    expect(h.fatal).toHaveLength(1);
    expect(h.fatal[0]).toMatch(
      /^Test engine \(pid 102\) stopped unexpectedly \(killed by SIGKILL\): 3 stops within 10 min, so it is not restarted again/,
    );
  });
});
