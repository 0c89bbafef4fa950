import { describe, expect, it } from 'vitest';
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
