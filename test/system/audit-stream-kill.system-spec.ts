import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';
import { makeApiKey } from '../factories';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { ServiceProcess, startService, stopService } from '../support/service-process';

/**
 * At least once across a crash: a service process killed (SIGKILL) while a receiver holds its
 * delivery unanswered leaves the delivery to the next process, which sends it again with the
 * same webhook-id and a valid signature.
 */
describe('audit stream delivery across a killed process', () => {
  let db: { name: string; url: string };
  let ds: DataSource;
  let a: ServiceProcess | undefined;
  let b: ServiceProcess | undefined;
  let server: http.Server;
  const got: { headers: Record<string, string>; body: string; answered: boolean }[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();
    // The first request is never answered (the process sending it dies meanwhile); the rest get 200.
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const first = got.length === 0;
        got.push({ headers: req.headers as Record<string, string>, body, answered: !first });
        if (!first) res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await stopService(a, 5000);
    await stopService(b, 5000);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await ds?.destroy();
    await dropDatabase(db.name);
  });

  it('is delivered again by another process, same webhook-id, signature valid', async () => {
    const key = await makeApiKey(ds, null);
    a = await startService(db.url);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const created = await fetch(`${a.url}/api/v1/audit-streams`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'siem', url, eventTypes: ['test.kill'] }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const [{ id }] = await ds.query(`INSERT INTO audit_events (type, actor, details) VALUES ('test.kill', 'system', '{"n":1}') RETURNING id`);

    const until = async (what: string, cond: () => boolean, ms = 60_000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('the first attempt', () => got.length === 1);
    a.proc.kill('SIGKILL');
    await a.exited;
    expect((await ds.query(`SELECT status, attempts FROM audit_stream_deliveries`))[0]).toEqual({ status: 'pending', attempts: 0 });

    b = await startService(db.url);
    await until('the delivery by the second process', () => got.some((g) => g.answered));
    expect(got.map((g) => g.headers['webhook-id'])).toEqual([`msg_${id}`, `msg_${id}`]);
    const wh = new Webhook(secret);
    for (const g of got) expect(wh.verify(g.body, g.headers)).toMatchObject({ type: 'test.kill', data: { id: String(id), details: { n: 1 } } });
    for (let i = 0; i < 100; i++) {
      const [row] = await ds.query(`SELECT status FROM audit_stream_deliveries`);
      if (row.status === 'delivered') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await ds.query(`SELECT status, attempts FROM audit_stream_deliveries`))[0]).toEqual({ status: 'delivered', attempts: 1 });
  }, 240_000);
});
