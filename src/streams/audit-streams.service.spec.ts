import { OutboundGuard } from '../catalog/outbound';
import { AuditStreamsService } from './audit-streams.service';

/** Destination URLs: what production refuses (no database needed for the check). */
describe('AuditStreamsService.urlProblems', () => {
  const service = (refuseNonPublic: boolean) => {
    const outbound = { refuseNonPublic, allowCidrs: [] };
    return new AuditStreamsService(null as never, null as never, null as never, new OutboundGuard(outbound), outbound);
  };

  it('in production: https only, never loopback, private or link-local addresses', async () => {
    const s = service(true);
    expect(await s.urlProblems('http://siem.example.com/hook')).toEqual(['url: must be https']);
    expect(await s.urlProblems('ftp://siem.example.com/hook')).toEqual(['url: must be https']);
    expect(await s.urlProblems('not a url')).toEqual([expect.stringMatching(/^url: must be an absolute URL/)]);
    expect((await s.urlProblems('https://127.0.0.1/hook'))[0]).toMatch(/^url: 127\.0\.0\.1 is not a public address/);
    expect((await s.urlProblems('https://10.1.2.3/hook'))[0]).toMatch(/not a public address/);
    expect((await s.urlProblems('https://169.254.169.254/latest/meta-data'))[0]).toMatch(/not a public address/);
    expect((await s.urlProblems('https://[::1]/hook'))[0]).toMatch(/not a public address/);
    expect((await s.urlProblems('https://localhost/hook'))[0]).toMatch(/loopback name/);
    expect(await s.urlProblems('https://user:pw@siem.example.com/hook')).toEqual([expect.stringMatching(/user name or password/)]);
    expect(await s.urlProblems('https://93.184.215.14/hook')).toEqual([]);
  });

  it('outside production (fakes on loopback): http and private addresses are allowed', async () => {
    const s = service(false);
    expect(await s.urlProblems('http://127.0.0.1:9999/hook')).toEqual([]);
    expect(await s.urlProblems('ftp://127.0.0.1/hook')).toEqual(['url: must be https']);
  });
});
