import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * Debug sampling (shared/log.ts `sampleDebugLogs`): with POWERTOOLS_LOGGER_SAMPLE_RATE=1 every
 * call decides to log at debug level whatever LOG_LEVEL says; without a
 * rate, debug lines stay out at info level however often it is called.
 */

const saved = { level: process.env.LOG_LEVEL, rate: process.env.POWERTOOLS_LOGGER_SAMPLE_RATE, format: process.env.LOG_FORMAT };
afterEach(() => {
  for (const [name, value] of [
    ['LOG_LEVEL', saved.level],
    ['POWERTOOLS_LOGGER_SAMPLE_RATE', saved.rate],
    ['LOG_FORMAT', saved.format],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  vi.restoreAllMocks();
  vi.resetModules();
});

/** The debug lines a fresh log module writes over `calls` sampled calls at info level. */
async function debugLinesOver(calls: number, rate: string | undefined): Promise<string[]> {
  vi.resetModules();
  process.env.LOG_LEVEL = 'info';
  process.env.LOG_FORMAT = 'json';
  if (rate === undefined) delete process.env.POWERTOOLS_LOGGER_SAMPLE_RATE;
  else process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = rate;
  const lines: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  for (const method of ['log', 'info', 'debug', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation(capture);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    capture(chunk);
    return true;
  });
  const { log, sampleDebugLogs } = await import('../../shared/log');
  for (let i = 0; i < calls; i++) {
    sampleDebugLogs();
    log.debug(`debug line ${i}`);
  }
  return lines.filter((l) => l.includes('debug line'));
}

describe('debug sampling', () => {
  it('rate 1: every call logs its debug lines at info level', async () => {
    const lines = await debugLinesOver(5, '1');
    expect(lines.map((l) => /debug line (\d)/.exec(l)?.[1])).toEqual(['0', '1', '2', '3', '4']);
  });

  it('rate 0.5: decided again on each call, so some calls log at debug level and others do not', async () => {
    // 200 calls: the number sampled is binomial (mean 100, deviation ~7); outside 40–160 is
    // ~10^-17 likely. Deciding once (at the logger's making) would give 0 or 200.
    const sampled = (await debugLinesOver(200, '0.5')).length;
    expect(sampled).toBeGreaterThan(40);
    expect(sampled).toBeLessThan(160);
  });

  it('no rate, or 0: no debug line at info level', async () => {
    expect(await debugLinesOver(5, undefined)).toEqual([]);
    expect(await debugLinesOver(5, '0')).toEqual([]);
  });
});
