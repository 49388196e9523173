/*
 * The audit trail under load, each figure against a baseline measured in the same run:
 *   1. SSO handshakes/s and p50 with an audit stream configured, against none;
 *   2. webhook events/s delivered to a receiver on loopback (answering 204), counted over a
 *      fixed window after the handshakes;
 *   3. export rows/s and the service's peak memory (VmHWM) exporting N rows;
 *   4. handshakes/s and p50 with those N rows in audit_events, against the empty table.
 *
 *   npm run bench -- audit-scale      (BENCH_AUDIT_ROWS=1000000 BENCH_DURATION=10)
 *
 * Not in the default `npm run bench`: the insert of N rows takes minutes on a small machine.
 * OUTBOUND_ALLOW_PRIVATE=true lets the production-mode service post to the loopback
 * receiver over plain http (a CIDR list is not enough: http needs private addresses allowed).
 */
import type autocannon from 'autocannon';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../src/crypto/tokens';
import { load, LoadResult, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const USERS = 1000;
const METABASE = 'https://metabase.example.com';
const SECRET = 'bench-metabase-jwt-secret-0123456789abcdef';

/** kB from /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now). */
function procKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

runMain(async () => {
  // The receiver: counts each delivery and answers 204, as a SIEM relay would.
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  const service = await startService({
    databaseUrl: pg.url,
    secretsKey,
    env: { DB_POOL_SIZE: '20', OUTBOUND_ALLOW_PRIVATE: 'true', SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' },
  });
  try {
    console.log(`service pid ${service.pid}`);
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name, attributes) VALUES ('bench', 'Bench', '{"region":"emea"}') RETURNING id`);
    const users = await pg.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, first_name, last_name, attributes)
       SELECT $1, 'user' || i || '@example.com', 'Bench', 'User', '{"role":"analyst"}' FROM generate_series(1, ${USERS}) i RETURNING id`,
      [tenant.id],
    );
    const [group] = await pg.query(`INSERT INTO groups (tenant_id, name) VALUES ($1, 'analysts') RETURNING id`, [tenant.id]);
    await pg.query(`INSERT INTO group_members (group_id, user_id, tenant_id) SELECT $1, id, $2 FROM users WHERE tenant_id = $2`, [group.id, tenant.id]);
    const [target] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'Metabase', $1, '{}') RETURNING id`, [METABASE]);
    await setTargetSecret(pg, new SecretBox(Buffer.from(secretsKey, 'hex')), target.id, SECRET);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["Analysts"]}')`, [tenant.id, target.id]);
    const cookies = await seedSessions(pg, tenant.id, users);
    const apiKey = `eidp_${randomToken(32)}`;
    await pg.query(`INSERT INTO api_keys (name, prefix, key_hash, tenant_id) VALUES ('bench', $1, $2, NULL)`, [apiKey.slice(0, 12), sha256Hex(apiKey)]);
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${service.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    await pg.query('ANALYZE');

    let next = 0;
    const requests: autocannon.Request[] = [
      { method: 'GET', path: '/sso/mb?return_to=/dashboard/1', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
    ];
    const handshakes = () => load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: DURATION });
    const rows: Record<string, string | number>[] = [];
    const row = (run: string, r: LoadResult, note = '') =>
      rows.push({ run, 'req/s': Math.round(r.rps), 'p50 ms': r.p50, 'p99 ms': r.p99, 'non-302': Object.entries(r.statusCounts).filter(([c]) => c !== '302').reduce((a, [, n]) => a + n, 0) + r.errors, note });

    await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: 3 }); // warm-up
    await sleep(500);
    const empty = await handshakes();
    row('no stream, empty audit table', empty, 'baseline');
    await sleep(500);

    // 1 + 2: a global stream receiving every event.
    const created = await api('/api/v1/audit-streams', { method: 'POST', body: JSON.stringify({ name: 'loopback', url: receiverUrl }) });
    if (created.status !== 201) throw new Error(`creating the stream answered ${created.status} ${await created.text()}`);
    const stream = (await created.json()) as { id?: string; stream?: { id: string } };
    const streamId = stream.id ?? stream.stream!.id;
    received = 0;
    const withStream = await handshakes();
    row('audit stream configured', withStream, `${(withStream.rps / empty.rps).toFixed(2)}x baseline`);
    const atEnd = received;
    await sleep(DURATION * 1000);
    const inWindow = received - atEnd;
    const [pending] = await pg.query(`SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) AS queued FROM audit_stream_deliveries WHERE stream_id = $1`, [streamId]);
    const deliveries = [
      { phase: `during the ${DURATION} s of handshakes`, received: atEnd, 'events/s': (atEnd / withStream.durationSeconds).toFixed(0) },
      { phase: `the ${DURATION} s after (no load)`, received: inWindow, 'events/s': (inWindow / DURATION).toFixed(0) },
      { phase: 'queued / still pending after', received: `${pending.queued} / ${pending.pending}`, 'events/s': '' },
    ];
    await api(`/api/v1/audit-streams/${streamId}`, { method: 'DELETE' });

    // 3: N synthetic rows (the handshake's event and details) in this month's partition.
    const t0 = Date.now();
    await pg.query(
      `INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, at, details)
       SELECT 'sso.token_issued', 'user:' || gen_random_uuid(), $2::uuid, '203.0.113.' || (g % 250), substr(md5(g::text), 1, 16),
              greatest(date_trunc('month', now()), now() - interval '1 hour' - (g % 86400) * interval '1 second'),
              jsonb_build_object('target', 'mb', 'targetId', gen_random_uuid(), 'userId', gen_random_uuid(), 'jti', gen_random_uuid(), 'iat', 1764800000 + g, 'exp', 1764800060 + g)
         FROM generate_series(1, $1::int) g`,
      [ROWS, tenant.id],
    );
    const insertS = (Date.now() - t0) / 1000;
    await pg.query('VACUUM ANALYZE audit_events');
    const [{ n: total }] = await pg.query(`SELECT count(*)::int AS n FROM audit_events`);

    const hwmBefore = procKb(service.pid, 'VmHWM');
    const rssBefore = procKb(service.pid, 'VmRSS');
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, procKb(service.pid, 'VmRSS'))), 100);
    const t1 = process.hrtime.bigint();
    const res = await api('/api/v1/audit-events/export?format=ndjson');
    if (res.status !== 200) throw new Error(`export answered ${res.status} ${await res.text()}`);
    let lines = 0;
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const exportS = Number(process.hrtime.bigint() - t1) / 1e9;
    clearInterval(sampler);
    const hwmAfter = procKb(service.pid, 'VmHWM');
    const exportRow = {
      rows: lines, 'of in table': total, s: exportS.toFixed(1), 'rows/s': Math.round(lines / exportS), MB: (bytes / 2 ** 20).toFixed(0),
      'RSS before MB': (rssBefore / 1024).toFixed(0), 'RSS max MB': (rssMax / 1024).toFixed(0), 'VmHWM before MB': (hwmBefore / 1024).toFixed(0), 'VmHWM after MB': (hwmAfter / 1024).toFixed(0),
    };

    // 4: handshakes with N rows in the table.
    await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: 3 });
    await sleep(500);
    const full = await handshakes();
    row(`no stream, ${total} rows in audit_events`, full, `${(full.rps / empty.rps).toFixed(2)}x baseline`);

    printTable(`SSO handshakes (Metabase), ${CONNECTIONS} connections, ${DURATION} s per run`, rows);
    printTable(`webhook deliveries to a loopback receiver (204)`, deliveries);
    printTable(`export (ndjson) of ${ROWS} inserted rows (insert took ${insertS.toFixed(0)} s)`, [exportRow]);
    console.log(`\nload average: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    await service.stop();
    await pg.stop();
    receiver.close();
  }
});
