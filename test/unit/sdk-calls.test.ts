import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendDeadLetter } from '../../shared/adapters/dead-letters-sqs';
import { resetConfig } from '../../shared/config';
import { callTarget } from '../../shared/sdk-calls';
import { needsOf } from '../bundled/permissions';

/** The SDK call recorder of `npm run test:bundled`: what a command addresses, and the IAM actions that needs. */
describe('SDK call targets', () => {
  it('names the verb and table of each PartiQL statement, never its values', () => {
    const input = {
      Statements: [
        { Statement: 'UPDATE "pryv-table" SET "lastUsed" = ? WHERE "pk" = ? AND "sk" = ?', Parameters: [{ S: 'secret-token' }] },
        { Statement: "INSERT INTO \"pryv-table\" VALUE {'pk': ?, 'sk': ?}", Parameters: [{ S: 'AUDIT#u' }] },
        { Statement: 'INSERT INTO "pryv-table" VALUE {\'pk\': ?}', Parameters: [{ S: 'AUDIT#u' }] },
      ],
    };
    const target = callTarget(input);
    expect(target).toEqual({
      Items: [
        { op: 'PartiQLUpdate', TableName: 'pryv-table' },
        { op: 'PartiQLInsert', TableName: 'pryv-table' },
      ],
    });
    expect(JSON.stringify(target)).not.toContain('secret-token');
    const needs = needsOf({ client: 'DynamoDBClient', command: 'BatchExecuteStatementCommand', input: target }, { id: 'ws', stage: 's' });
    expect(needs.map((n) => n.action)).toEqual(['dynamodb:PartiQLUpdate', 'dynamodb:PartiQLInsert']);
    expect(needs.every((n) => n.resource.endsWith(':table/pryv-table'))).toBe(true);
  });
});

describe('the dead-letter queue client', () => {
  it('is recorded like the others, and its send needs sqs:SendMessage on that queue', async () => {
    // A stand-in for SQS (its JSON protocol): the SDK checks the body's MD5 in the answer.
    const targets: string[] = [];
    const sqs = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        targets.push(String(req.headers['x-amz-target']));
        const { MessageBody } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { MessageBody: string };
        const md5 = createHash('md5').update(MessageBody).digest('hex');
        res
          .writeHead(200, { 'content-type': 'application/x-amz-json-1.0' })
          .end(JSON.stringify({ MessageId: 'm-1', MD5OfMessageBody: md5 }));
      });
    });
    await new Promise<void>((resolve) => sqs.listen(0, '127.0.0.1', resolve));
    const folder = mkdtempSync(join(tmpdir(), 'pryv-sdk-calls-'));
    const saved = { ...process.env };
    Object.assign(process.env, {
      PRYV_SDK_CALL_LOG: folder,
      AWS_LAMBDA_FUNCTION_NAME: 'Fn-notify-fanout',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    resetConfig();
    try {
      // The SDK sends to the queue URL's host: here, the stand-in.
      const queueUrl = `http://127.0.0.1:${(sqs.address() as AddressInfo).port}/000000000000/FanoutDlq1234`;
      await sendDeadLetter(queueUrl, JSON.stringify({ reason: 'test' }));
      expect(targets).toEqual(['AmazonSQS.SendMessage']);
      const lines = readFileSync(join(folder, 'Fn-notify-fanout.jsonl'), 'utf8').split('\n').filter(Boolean);
      const calls = lines.map((line) => JSON.parse(line));
      expect(calls).toEqual([{ client: 'SQSClient', command: 'SendMessageCommand', input: { QueueUrl: queueUrl } }]);
      expect(needsOf(calls[0], { id: 'ws', stage: 's' })).toEqual([
        { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:000000000000:FanoutDlq1234' },
      ]);
    } finally {
      process.env = saved;
      resetConfig();
      rmSync(folder, { recursive: true, force: true });
      await new Promise((resolve) => sqs.close(resolve));
    }
  });
});
