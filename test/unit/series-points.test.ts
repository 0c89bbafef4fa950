import { describe, expect, it } from 'vitest';
import { flatJsonOf, flatJsonText } from '../../shared/domain/series/points';

describe('flatJsonText', () => {
  it('is the text JSON.stringify writes for the flatJSON answer: single values of any number, nulls, other values', () => {
    const content = { elementType: 'mass/kg', fields: ['deltaTime', 'value'], required: ['deltaTime', 'value'] };
    const rows = {
      deltaTimes: [-1e300, -2.5, -0, 1e-9, 0.1 + 0.2, 1, 2 ** 53, 1e21, 1e308, 5],
      columns: { value: [Number.MIN_VALUE, -0, 0, 3.25, null, -1e-7, 'a"b\\', true, { x: [1] }, undefined] },
    };
    expect(flatJsonText(content, rows)).toBe(JSON.stringify(flatJsonOf(content, rows)));
  });

  it('several value fields, a column missing, and no points', () => {
    const content = { elementType: 'position/wgs84', fields: ['deltaTime', 'latitude', 'longitude', 'altitude'], required: ['deltaTime'] };
    const rows = { deltaTimes: [0, 1.5], columns: { latitude: [46.5, -12.25], longitude: [6.6, null] } };
    expect(flatJsonText(content, rows)).toBe(JSON.stringify(flatJsonOf(content, rows)));
    const empty = { deltaTimes: [], columns: {} };
    expect(flatJsonText(content, empty)).toBe(JSON.stringify(flatJsonOf(content, empty)));
  });
});
