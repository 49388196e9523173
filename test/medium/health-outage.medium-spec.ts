import request from 'supertest';
import { ShutdownState } from '../../src/health/shutdown';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase, withAdminClient } from '../setup/test-db';

/**
 * Readiness follows Postgres: make the app's database unreachable (its connections are
 * terminated and logins refused) and /health/ready must answer 503 while /health/live stays
 * 200; let it back in and ready recovers without a restart.
 */
describe('health during a Postgres outage', () => {
  let t: TestApp;
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await createDatabase();
    t = await createTestApp({ database: db });
  });
  afterAll(async () => {
    await withAdminClient((c) => c.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`));
    await t.close({ keepDatabase: true });
    await dropDatabase(db.name);
  });

  it('ready is 503 while the database is unreachable, live stays 200, ready recovers', async () => {
    await request(t.http).get('/health/ready').expect(200);

    await withAdminClient(async (c) => {
      await c.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [db.name]);
    });

    const down = await request(t.http).get('/health/ready');
    expect(down.status).toBe(503);
    expect(down.body.details?.database?.status).toBe('down');
    await request(t.http).get('/health/live').expect(200);

    await withAdminClient((c) => c.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`));
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await request(t.http).get('/health/ready')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  it('ready is 503 from the moment shutdown starts (a load balancer stops routing here), live stays 200', async () => {
    await request(t.http).get('/health/ready').expect(200);
    t.app.get(ShutdownState).begin();
    const draining = await request(t.http).get('/health/ready');
    expect(draining.status).toBe(503);
    expect(draining.body.details).toEqual({ process: { status: 'down', reason: 'shutting down' } });
    expect(draining.headers.connection).toBe('close');
    await request(t.http).get('/health/live').expect(200);
  });
});
