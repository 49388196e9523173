import { EventEmitter } from 'node:events';
import { csvField, csvLine, writeAuditExport } from './audit-export';

describe('audit export CSV', () => {
  it('quotes fields holding a comma, quote, CR or LF, doubling quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvLine(['1', null, 'x'])).toBe('1,,x\r\n');
  });

  it('defuses cells a spreadsheet would run as a formula (OWASP CSV injection)', () => {
    expect(csvField('=HYPERLINK("http://evil.example","x")')).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(csvField('+1+1')).toBe("'+1+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    expect(csvField('a=1')).toBe('a=1');
  });
});

describe('audit export writer', () => {
  /** A response that records each write and never pushes back. */
  function fakeRes() {
    const writes: string[] = [];
    const res = new EventEmitter() as EventEmitter & Record<string, unknown>;
    Object.assign(res, {
      destroyed: false,
      status: () => res,
      setHeader: () => res,
      write: (c: string) => (writes.push(c), true),
      end: () => undefined,
      destroy: () => undefined,
    });
    return { res: res as never, writes };
  }
  const event = (i: number) =>
    ({ id: String(i), type: 'sso.token_issued', actor: `user:${i}`, tenantId: null, ip: '203.0.113.1', requestId: 'r', at: new Date(0), details: { jti: 'x'.repeat(150), i } }) as never;

  it('writes a page in small pieces, never one string of the whole page (V8 keeps large strings until a full GC)', async () => {
    const { res, writes } = fakeRes();
    const page = Array.from({ length: 1000 }, (_, i) => event(i));
    await writeAuditExport(res, (async function* () { yield page; yield page.slice(0, 10); })(), 'ndjson');
    const text = writes.join('');
    expect(text.split('\n').filter(Boolean)).toHaveLength(1010);
    expect(text.length).toBeGreaterThan(200_000);
    expect(Math.max(...writes.map((w) => w.length))).toBeLessThan(64 * 1024);
  });
});
