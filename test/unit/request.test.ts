import { describe, expect, it } from 'vitest';
import { extractToken, parseQuery } from '../../shared/http/request';

describe('query parsing', () => {
  it('turns repeats and key[] into arrays and keeps single values as strings', () => {
    expect(parseQuery('a=1&b=x&b=y&c[]=z&auth=t')).toEqual({ a: '1', b: ['x', 'y'], c: ['z'], auth: 't' });
    expect(parseQuery('streams[]=a&streams[]=b')).toEqual({ streams: ['a', 'b'] });
    expect(parseQuery('')).toEqual({});
  });
});

describe('token extraction (spec §1.3)', () => {
  it('reads raw, Bearer and Basic Authorization values', () => {
    expect(extractToken('tok123', {})).toEqual({ token: 'tok123', callerId: undefined });
    expect(extractToken('Bearer tok123', {}).token).toBe('tok123');
    expect(extractToken(`Basic ${Buffer.from('tok123:').toString('base64')}`, {}).token).toBe('tok123');
    expect(extractToken(`Basic ${Buffer.from('tok123').toString('base64')}`, {}).token).toBe('tok123');
  });

  it('splits "{token} {callerId}"', () => {
    expect(extractToken('tok123 my caller', {})).toEqual({ token: 'tok123', callerId: 'my caller' });
  });

  it('falls back to the first auth query parameter, header first', () => {
    expect(extractToken(undefined, { auth: ['first', 'second'] }).token).toBe('first');
    expect(extractToken(undefined, { auth: 'q' }).token).toBe('q');
    expect(extractToken('header', { auth: 'q' }).token).toBe('header');
    expect(extractToken(undefined, {}).token).toBeUndefined();
    expect(extractToken('   ', {}).token).toBeUndefined();
  });
});
