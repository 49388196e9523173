import fc from 'fast-check';
import { formatAttributeInput, parseAttributeInput } from './attribute-input';

describe('attribute values typed in the console', () => {
  it('reads numbers and booleans as the API does, so the token is the same whichever tool set them', () => {
    expect(parseAttributeInput('42')).toBe(42);
    expect(parseAttributeInput(' -1.5 ')).toBe(-1.5);
    expect(parseAttributeInput('true')).toBe(true);
    expect(parseAttributeInput('false')).toBe(false);
    expect(parseAttributeInput('emea')).toBe('emea');
  });

  it('keeps text that only looks like a number when quoted, and what is not a JSON number as text', () => {
    expect(parseAttributeInput('"42"')).toBe('42');
    expect(parseAttributeInput('"true"')).toBe('true');
    for (const s of ['0x10', '1e999', 'Infinity', 'NaN', '007', '1_000', '', '"unterminated', 'True']) expect(typeof parseAttributeInput(s)).toBe('string');
  });

  it('shows every stored value so that saving the form unchanged keeps it, type included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()), (v) => {
        const stored = typeof v === 'number' && Object.is(v, -0) ? 0 : v;
        expect(parseAttributeInput(formatAttributeInput(stored))).toEqual(stored);
      }),
    );
  });
});
