/**
 * Polling for a condition in integration tests: wait for what the system promises, not for a
 * fixed time. `waitUntil({ timeoutMs })` gives a file its `until(what, probe, timeoutMs?)`,
 * which resolves with the probe's first value other than `undefined` or `false`.
 */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Probe<T> = () => Promise<T | undefined | false> | T | undefined | false;

export function waitUntil(defaults: { timeoutMs: number; intervalMs?: number }) {
  const intervalMs = defaults.intervalMs ?? 50;
  return async function until<T>(what: string, probe: Probe<T>, timeoutMs = defaults.timeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(intervalMs);
    }
  };
}
