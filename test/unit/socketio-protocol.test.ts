import { describe, expect, it } from 'vitest';
import {
  connectAnswer,
  connectError,
  decodeEnginePacket,
  decodeSocketPacket,
  encodeOpen,
  encodeSocketPacket,
  ProtocolError,
  SocketPacketType,
  splitNamespace,
  usernameOfNamespace,
} from '../../shared/socketio/protocol';

describe('Engine.IO packets', () => {
  it('encodes the open packet with no upgrades', () => {
    const text = encodeOpen({ sid: 'abc', pingInterval: 25000, pingTimeout: 20000, maxPayload: 131072 });
    expect(text.charAt(0)).toBe('0');
    expect(JSON.parse(text.slice(1))).toEqual({ sid: 'abc', upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 131072 });
  });

  it('decodes ping, pong, close, noop and messages', () => {
    expect(decodeEnginePacket('3')).toEqual({ kind: 'pong', data: '' });
    expect(decodeEnginePacket('2probe')).toEqual({ kind: 'ping', data: 'probe' });
    expect(decodeEnginePacket('1')).toEqual({ kind: 'close' });
    expect(decodeEnginePacket('6')).toEqual({ kind: 'noop' });
    expect(decodeEnginePacket('42["x"]')).toEqual({ kind: 'message', data: '2["x"]' });
  });

  it('refuses unknown and binary packet types', () => {
    expect(() => decodeEnginePacket('5')).toThrow(ProtocolError); // upgrade: we are already on WebSocket
    expect(() => decodeEnginePacket('b4AAA')).toThrow(ProtocolError);
    expect(() => decodeEnginePacket('')).toThrow(ProtocolError);
  });
});

describe('Socket.IO packets', () => {
  it('encode as socket.io-parser does: namespace, ack id, JSON', () => {
    expect(encodeSocketPacket({ type: SocketPacketType.Connect, nsp: '/alice', data: { sid: 's1' } })).toBe('40/alice,{"sid":"s1"}');
    expect(encodeSocketPacket({ type: SocketPacketType.Event, nsp: '/alice/alice', data: ['eventsChanged'] })).toBe(
      '42/alice/alice,["eventsChanged"]',
    );
    expect(encodeSocketPacket({ type: SocketPacketType.Ack, nsp: '/a', id: 12, data: [null, { ok: 1 }] })).toBe('43/a,12[null,{"ok":1}]');
    expect(encodeSocketPacket({ type: SocketPacketType.Event, nsp: '/', data: ['x'] })).toBe('42["x"]');
    expect(encodeSocketPacket({ type: SocketPacketType.Disconnect, nsp: '/a' })).toBe('41/a,');
  });

  it('decode namespace, ack id and data', () => {
    expect(decodeSocketPacket('0/alice/alice,')).toEqual({ type: SocketPacketType.Connect, nsp: '/alice/alice' });
    expect(decodeSocketPacket('0/alice,{"auth":"t"}')).toEqual({ type: SocketPacketType.Connect, nsp: '/alice', data: { auth: 't' } });
    expect(decodeSocketPacket('2/alice,7["events.get",{"limit":1}]')).toEqual({
      type: SocketPacketType.Event,
      nsp: '/alice',
      id: 7,
      data: ['events.get', { limit: 1 }],
    });
    expect(decodeSocketPacket('2["callBatch",[]]')).toEqual({ type: SocketPacketType.Event, nsp: '/', data: ['callBatch', []] });
    expect(decodeSocketPacket('1/alice,')).toEqual({ type: SocketPacketType.Disconnect, nsp: '/alice' });
  });

  it('round-trip what they encode', () => {
    const packet = { type: SocketPacketType.Event, nsp: '/bob', id: 3, data: ['streams.create', { name: 'a,b/"c"' }] } as const;
    expect(decodeSocketPacket(encodeSocketPacket(packet).slice(1))).toEqual(packet);
  });

  it('refuse malformed packets', () => {
    for (const bad of [
      '2/a,["unterminated"', // not JSON
      '2/a,{"not":"an array"}', // EVENT payload must be an array
      '2/a,[]', // … starting with the event name
      '2/a,[42]',
      '0/a,"string"', // CONNECT payload must be an object
      '1/a,{"x":1}', // DISCONNECT takes none
      '4/a,{"message":"x"}', // clients never send CONNECT_ERROR
      '5/a,1-["x",{"_placeholder":true,"num":0}]', // binary events: unsupported
      '9',
      '2/a,1234567890123456["x"]', // ack id beyond safe integers
    ]) {
      expect(() => decodeSocketPacket(bad), bad).toThrow(ProtocolError);
    }
  });
});

describe('namespace → username (spec §6.1: the last segment)', () => {
  it('takes the last path segment', () => {
    expect(usernameOfNamespace('/alice')).toBe('alice');
    expect(usernameOfNamespace('/alice/alice')).toBe('alice');
    expect(usernameOfNamespace('/x/alice/')).toBe('alice');
    expect(usernameOfNamespace('/')).toBeUndefined();
  });
});

describe('Socket.IO 2 (Engine.IO 3) differences', () => {
  it("reads a CONNECT whose namespace carries the handshake query, without socket.io-parser 3's comma", () => {
    const packet = decodeSocketPacket('0/alice/alice?auth=tok%2Cen&x=1');
    expect(packet).toEqual({ type: SocketPacketType.Connect, nsp: '/alice/alice?auth=tok%2Cen&x=1' });
    const { nsp, query } = splitNamespace(packet.nsp);
    expect(nsp).toBe('/alice/alice');
    expect(query.get('auth')).toBe('tok,en');
    expect(splitNamespace('/alice')).toEqual({ nsp: '/alice', query: new URLSearchParams() });
  });

  it('answers CONNECT bare and errors with the message itself for Engine.IO 3; with {sid} and {message} for 4', () => {
    expect(encodeSocketPacket(connectAnswer('/alice', 'sock1', 3))).toBe('40/alice,');
    expect(encodeSocketPacket(connectAnswer('/alice', 'sock1', undefined))).toBe('40/alice,{"sid":"sock1"}');
    expect(encodeSocketPacket(connectError('/alice', 'no', 3))).toBe('44/alice,"no"');
    expect(encodeSocketPacket(connectError('/alice', 'no', undefined))).toBe('44/alice,{"message":"no"}');
  });

  it('the default namespace CONNECT Socket.IO 2 servers send at open is "40"', () => {
    expect(encodeSocketPacket({ type: SocketPacketType.Connect, nsp: '/' })).toBe('40');
  });
});
