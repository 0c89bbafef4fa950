/**
 * `npm run integrity:verify -- --user <name> [--json] [--table <name>] [--endpoint <url>]`:
 * recomputes the integrity of every event and access of an account from the store and
 * reports the items whose stored value differs (README "Integrity"). It reads the table
 * directly: in AWS with the operator's credentials (the stack's `TableName` output), locally
 * with the DynamoDB Local address `npm start` prints. Reads only; prints no token.
 *
 * Exit status: 0 when no stored value differs (items without one are listed, not failed),
 * 1 when some differ, 2 when the command could not run (bad arguments, unknown user).
 */

import { parseArgs } from 'node:util';
import { resetConfig } from '../../shared/config';
import { type IntegrityReport, UnknownUserError, verifyAccountIntegrity } from '../../shared/domain/integrity/verify';
import { resetClients } from '../../shared/store/clients';

const USAGE = 'usage: npm run integrity:verify -- --user <name> [--json] [--table <name>] [--endpoint <DynamoDB URL>]';

const when = (seconds: number) => new Date(seconds * 1000).toISOString();

function print(report: IntegrityReport): void {
  const lines = [
    `Integrity of ${report.username}: ${report.checked.events} event items and ${report.checked.accesses} access items checked.`,
    `  mismatches: ${report.mismatches.length}`,
    ...report.mismatches.map(
      (m) =>
        `    ${m.kind} ${m.id}${m.modified !== undefined ? ` (written ${when(m.modified)})` : ''}: stored ${m.stored}, computed ${m.computed}`,
    ),
    `  without integrity: ${report.missing} (written before integrity existed, or with INTEGRITY=off; their next write adds it)`,
    ...report.missingItems.map((m) => `    ${m.kind} ${m.id}${m.modified !== undefined ? ` (written ${when(m.modified)})` : ''}`),
    ...(report.missing > report.missingItems.length ? [`    … and ${report.missing - report.missingItems.length} more`] : []),
  ];
  if (!report.writesIntegrity)
    lines.push('  note: INTEGRITY is off in this environment (it is read from here, not from the deployed functions)');
  console.log(lines.join('\n'));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      json: { type: 'boolean', default: false },
      table: { type: 'string' },
      endpoint: { type: 'string' },
    },
  });
  if (!values.user) {
    console.error(USAGE);
    return 2;
  }
  if (values.table) process.env.TABLE_NAME = values.table;
  if (values.endpoint) process.env.DYNAMODB_ENDPOINT = values.endpoint;
  process.env.LOG_LEVEL ??= 'silent';
  // An operator command, often run from a laptop's Node 20: spare it the SDK's upgrade notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  resetConfig();
  resetClients();
  try {
    const report = await verifyAccountIntegrity(values.user);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else print(report);
    return report.mismatches.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof UnknownUserError) {
      console.error(`integrity:verify: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    console.error(`integrity:verify: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
