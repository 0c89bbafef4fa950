import { type Identities, type RenderedCase, renderCase, sampleCases, targetsMainUser } from './cases';
import { api, curlOf, send, type WireResponse } from './client';
import { createFixture, diffSnapshots, type Fixture, snapshot, startWebhookReceiver } from './fixture';

/**
 * Runs fuzz cases (cases.ts) against a running API and checks every answer: never a 5xx;
 * every 4xx in the Pryv error envelope (`{error:{id, message}, meta}`, or the register
 * service's flat `{id, message}` on `/reg/*`); cases that must be refused are refused; no
 * batch call answers `unexpected-error`, and a malformed one answers an error; and the main
 * user's account reads the same after the run as before it.
 */

export interface FuzzOptions {
  baseUrl: string;
  adminKey: string;
  seed: number;
  runs: number;
  /** Requests in flight at once (1 = one after the other, so server logs match their case). */
  concurrency?: number;
  /** Per request; a request without an answer by then is a failure. */
  timeoutMs?: number;
  /** Server log lines written since the last call (local runtime in this process only). */
  takeLogs?: () => string[];
  /** Called after every case (progress). */
  onCase?: (done: number, total: number) => void;
}

export interface FuzzFailure {
  label: string;
  methodId: string;
  status: number;
  errorId: string | undefined;
  problems: string[];
  mustRefuse: boolean;
  reasons: string[];
  curl: string;
  answer: string;
  logs: string[];
}

export interface FuzzReport {
  seed: number;
  runs: number;
  requests: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
  mainUserCases: number;
  scratchUserCases: number;
  mustRefuseCases: number;
  failures: FuzzFailure[];
  /** Where the main user's account differs after the run (should be empty). */
  accountChanges: string[];
  routesCovered: number;
}

const isPryvError = (e: any) => e && typeof e === 'object' && typeof e.id === 'string' && typeof e.message === 'string';

/** What is wrong with an answer, if anything. */
export function problemsOf(r: RenderedCase, res: WireResponse): string[] {
  const problems: string[] = [];
  const json = res.json;
  const path = r.request.path;
  if (res.status >= 500) problems.push(`server error ${res.status}`);
  if (res.status >= 400) {
    const gateway413 = res.status === 413 && json?.message === 'Request Entity Too Large';
    const wrapped = isPryvError(json?.error);
    const flat = path.startsWith('/reg/') && isPryvError(json);
    // An answered access request polls as its state: 403 {status: "REFUSED"|"ERROR", …} (Pryv API reference §2.14).
    const accessState = path.startsWith('/reg/access/') && res.status === 403 && (json?.status === 'REFUSED' || json?.status === 'ERROR');
    if (!gateway413 && !wrapped && !flat && !accessState) problems.push(`not a Pryv error envelope: ${res.text.slice(0, 200)}`);
    if (wrapped && (typeof json.meta?.apiVersion !== 'string' || typeof json.meta?.serverTime !== 'number'))
      problems.push('error without meta');
  }
  if (r.mustRefuse && res.status < 400) problems.push(`answered ${res.status} to a request it must refuse (${r.reasons.join('; ')})`);
  if (r.batchMustFail && res.status === 200) {
    const results = json?.results;
    if (!Array.isArray(results) || results.length !== r.batchMustFail.length) problems.push('batch answer without one result per call');
    else {
      results.forEach((result: any, i: number) => {
        if (result?.error !== undefined) {
          if (!isPryvError(result.error)) problems.push(`batch call ${i}: error not in the Pryv shape`);
          else if (result.error.id === 'unexpected-error') problems.push(`batch call ${i}: unexpected-error`);
        } else if (r.batchMustFail![i]) problems.push(`batch call ${i}: succeeded although malformed`);
      });
    }
  }
  return problems;
}

const errorIdOf = (res: WireResponse): string | undefined =>
  res.json?.error?.id ?? (typeof res.json?.id === 'string' ? res.json.id : undefined);

function batchErrorIds(res: WireResponse): string[] {
  const results = res.json?.results;
  return Array.isArray(results) ? results.map((x: any) => x?.error?.id).filter((x: unknown) => typeof x === 'string') : [];
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const receiver = await startWebhookReceiver();
  try {
    const main = await createFixture(options.baseUrl, receiver.url, 'fuzz');
    let scratch = await createFixture(options.baseUrl, receiver.url, 'fuzz-scratch');
    const accessRequest = await api(options.baseUrl, 'POST', '/reg/access', {
      body: { requestingAppId: 'fuzz-harness-app', requestedPermissions: [{ streamId: 'fz-root', level: 'read', defaultName: 'Fuzz' }] },
    });
    const ids = (): Identities => ({ main, other: scratch, adminKey: options.adminKey, accessRequestKey: accessRequest.key });
    const before = await snapshot(options.baseUrl, main);

    const cases = sampleCases(options.seed, options.runs);
    const report: FuzzReport = {
      seed: options.seed,
      runs: options.runs,
      requests: 0,
      elapsedMs: 0,
      byStatus: {},
      mainUserCases: 0,
      scratchUserCases: 0,
      mustRefuseCases: 0,
      failures: [],
      accountChanges: [],
      routesCovered: new Set(cases.map((c) => `${c.route.verb} ${c.route.path}`)).size,
    };
    const concurrency = Math.max(1, options.concurrency ?? 1);
    let next = 0;
    let done = 0;
    const SCRATCH_RENEWAL = 500; // lenient writes wear the scratch user's data down: a fresh one now and then
    let renewing: Promise<void> | undefined;

    const runOne = async (index: number) => {
      const c = cases[index]!;
      let rendered = renderCase(c, main, ids());
      if (!targetsMainUser(rendered)) rendered = renderCase(c, scratch, ids());
      if (rendered.mustRefuse) report.mustRefuseCases++;
      if (targetsMainUser(rendered)) report.mainUserCases++;
      else report.scratchUserCases++;
      options.takeLogs?.();
      let res: WireResponse;
      try {
        res = await send(options.baseUrl, rendered.request, options.timeoutMs ?? 60_000);
      } catch (err) {
        res = { status: 0, headers: new Headers(), text: `no answer: ${(err as Error).message}`, json: undefined };
      }
      report.requests++;
      const logs = options.takeLogs?.() ?? [];
      report.byStatus[String(res.status)] = (report.byStatus[String(res.status)] ?? 0) + 1;
      const problems = res.status === 0 ? [res.text] : problemsOf(rendered, res);
      if (problems.length > 0) {
        const batchIds = batchErrorIds(res);
        report.failures.push({
          label: rendered.label,
          methodId: c.methodId,
          status: res.status,
          errorId: errorIdOf(res) ?? (batchIds.includes('unexpected-error') ? 'batch:unexpected-error' : undefined),
          problems,
          mustRefuse: rendered.mustRefuse,
          reasons: rendered.reasons,
          curl: curlOf(options.baseUrl, rendered.request),
          answer: res.text.slice(0, 1000),
          logs: logs.map((l) => l.slice(0, 3000)),
        });
      }
    };

    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        if (index > 0 && index % SCRATCH_RENEWAL === 0) {
          renewing = (async () => {
            scratch = await createFixture(options.baseUrl, receiver.url, 'fuzz-scratch');
          })();
        }
        await renewing;
        await runOne(index);
        done++;
        options.onCase?.(done, cases.length);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    const after = await snapshot(options.baseUrl, main);
    report.accountChanges = diffSnapshots(before, after);
    report.elapsedMs = Date.now() - started;
    return report;
  } finally {
    await receiver.stop();
  }
}

/** Failures grouped by method, status and error id, with counts and one example each. */
export function summarize(report: FuzzReport): string {
  const groups = new Map<string, FuzzFailure[]>();
  for (const f of report.failures) {
    const key = `${f.methodId} → ${f.status}${f.errorId ? ` ${f.errorId}` : ''} (${f.problems[0]!.replace(/\(.*$/, '').slice(0, 80)})`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [
    `fuzz: seed ${report.seed}, ${report.requests} requests in ${(report.elapsedMs / 1000).toFixed(1)} s over ${report.routesCovered} routes ` +
      `(${report.mustRefuseCases} must be refused; ${report.mainUserCases} on the main user, ${report.scratchUserCases} on the scratch user)`,
    `answers by status: ${JSON.stringify(report.byStatus)}`,
    `${report.failures.length} failing requests in ${groups.size} groups`,
  ];
  for (const [key, list] of [...groups.entries()].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`  ${list.length} × ${key}`, `      e.g. ${list[0]!.label}`, `      ${list[0]!.curl.slice(0, 400)}`);
  }
  if (report.accountChanges.length > 0) lines.push('account changed:', ...report.accountChanges.map((c) => `  ${c}`));
  return lines.join('\n');
}

export type { Fixture };
