import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvReader } from '../config/env';
import { parseOutbound } from '../config/outbound.config';
import { OutboundGuard } from './outbound';

const guard = (env: Record<string, string>, nodeEnv: 'production' | 'development' | 'test' = 'production') => {
  const read = new EnvReader(env);
  const cfg = parseOutbound(read, nodeEnv);
  if (read.problems.length) throw new Error(read.problems.join('\n'));
  return new OutboundGuard(cfg);
};

describe('outbound calls in production (NODE_ENV=production)', () => {
  let server: http.Server;
  let url: string;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits++;
      if (req.url === '/moved') return res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::1',
  ])('refuses %s', (address) => {
    expect(guard({}).refusal(address)).toMatch(/not a public address.*OUTBOUND_ALLOW_PRIVATE/);
  });

  it.each(['8.8.8.8', '52.1.2.3', '2606:4700::1111'])('allows the public address %s', (address) => {
    expect(guard({}).refusal(address)).toBeNull();
  });

  it('allows what OUTBOUND_ALLOW_PRIVATE says (true, or CIDRs), and refuses a malformed value at start', () => {
    expect(guard({ OUTBOUND_ALLOW_PRIVATE: 'true' }).refusal('127.0.0.1')).toBeNull();
    const some = guard({ OUTBOUND_ALLOW_PRIVATE: '10.1.0.0/16, fd00::/8' });
    expect(some.refusal('10.1.2.3')).toBeNull();
    expect(some.refusal('fd00::5')).toBeNull();
    expect(some.refusal('10.2.0.1')).not.toBeNull();
    expect(() => guard({ OUTBOUND_ALLOW_PRIVATE: '10.0.0.0/33' })).toThrow(/OUTBOUND_ALLOW_PRIVATE/);
    expect(() => guard({ OUTBOUND_ALLOW_PRIVATE: 'yes' })).toThrow(/OUTBOUND_ALLOW_PRIVATE/);
  });

  it('refuses a base URL on a non-public address or name when it is saved', async () => {
    const g = guard({});
    expect(await g.baseUrlProblems('http://127.0.0.1:8080')).toEqual([expect.stringMatching(/^baseUrl: 127\.0\.0\.1 is not a public address/)]);
    expect(await g.baseUrlProblems('http://[::1]:8080')).toHaveLength(1);
    expect(await g.baseUrlProblems('http://localhost:8080')).toEqual([expect.stringMatching(/loopback/)]);
    expect(await g.baseUrlProblems('https://8.8.8.8')).toEqual([]);
  });

  it('refuses to connect to a non-public address, named or literal, before anything is sent', async () => {
    const g = guard({});
    hits = 0;
    await expect(g.fetch(`${url}/x`)).rejects.toMatchObject({ outboundRefusal: expect.stringMatching(/127\.0\.0\.1 is not a public address/) });
    // A name is checked on what it resolves to when connecting (DNS rebinding).
    await expect(g.fetch(url.replace('127.0.0.1', 'localhost') + '/x')).rejects.toMatchObject({ outboundRefusal: expect.stringMatching(/localhost resolves to/) });
    expect(hits).toBe(0);
  });

  it('outside production (the test suite\'s loopback fakes) calls go through; a redirect is answered, never followed', async () => {
    const g = guard({}, 'test');
    const ok = await g.fetch(`${url}/x`, { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    hits = 0;
    const moved = await g.fetch(`${url}/moved`);
    expect(moved.status).toBe(302);
    expect(hits).toBe(1);
  });
});
