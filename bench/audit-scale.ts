/*
 * The audit trail under load, each figure against a baseline measured in the same run:
 *   1. SSO handshakes/s, p50 and CPU per handshake (service + Postgres) with an audit stream
 *      configured (its deliveries running meanwhile), against none; and with the previous
 *      design's NOTIFY trigger put back, to show what it cost;
 *   2. webhook events/s delivered to a receiver on loopback (answering 204): a backlog of
 *      BENCH_STREAM_BACKLOG events drained with no other load, and during the handshakes;
 *   3. export rows/s and the service's memory (RSS, V8 heap) exporting BENCH_EXPORT_ROWS rows;
 *   4. handshakes/s, p50 and CPU per handshake with as many rows in audit_events as
 *      BENCH_AUDIT_ROWS, or as fit in BENCH_INSERT_S seconds of inserting, against the empty
 *      table; the indexes' depth (what a handshake's insert walks) and bytes per row;
 *   5. the time to drop the month's partition holding them (retention).
 *
 *   npm run bench -- audit-scale   (BENCH_AUDIT_ROWS=50000000 BENCH_INSERT_S=600 BENCH_EXPORT_ROWS=1000000 BENCH_DURATION=10)
 *
 * Not in the default `npm run bench`: the insert takes minutes on a small machine.
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
import { cpuDuring, load, LoadResult, postgresPids, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 50_000_000);
const INSERT_S = Number(process.env.BENCH_INSERT_S ?? 600);
const EXPORT_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const BACKLOG = Number(process.env.BENCH_STREAM_BACKLOG ?? 20_000);
const CHUNK = 1_000_000;
const USERS = 1000;
const METABASE = 'https://metabase.example.com';
const SECRET = 'bench-metabase-jwt-secret-0123456789abcdef';
const METRICS_TOKEN = randomToken(24);

/** kB from /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now). */
function procKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

function loadavg(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
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
    env: { DB_POOL_SIZE: '20', OUTBOUND_ALLOW_PRIVATE: 'true', METRICS_TOKEN, SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' },
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
    const pids = async () => [service.pid, ...(await postgresPids(pg))];
    /** A run of handshakes, with the CPU (service + Postgres) it cost per handshake. */
    const handshakes = async () => {
      const { result, cpu } = await cpuDuring(pids, () => load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: DURATION }));
      return { ...result, cpuMs: (cpu * 1000) / result.requests, load: loadavg() };
    };
    const rows: Record<string, string | number>[] = [];
    const row = (run: string, r: LoadResult & { cpuMs: number; load: string }, base?: LoadResult & { cpuMs: number }) =>
      rows.push({
        run,
        'req/s': Math.round(r.rps),
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'CPU ms/req': r.cpuMs.toFixed(2),
        'non-302': Object.entries(r.statusCounts).filter(([c]) => c !== '302').reduce((a, [, n]) => a + n, 0) + r.errors,
        'req/s ratio': base ? `${(r.rps / base.rps).toFixed(2)}x` : 'baseline',
        'CPU ratio': base ? `${(r.cpuMs / base.cpuMs).toFixed(2)}x` : 'baseline',
        'load avg': r.load,
      });

    await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: DURATION }); // warm-up (JIT)
    await sleep(500);
    const empty = await handshakes();
    row('no stream, empty audit table', empty);
    await sleep(500);

    // 1 + 2: a global stream receiving every event.
    const created = await api('/api/v1/audit-streams', { method: 'POST', body: JSON.stringify({ name: 'loopback', url: receiverUrl }) });
    if (created.status !== 201) throw new Error(`creating the stream answered ${created.status} ${await created.text()}`);
    const stream = (await created.json()) as { id?: string; stream?: { id: string } };
    const streamId = stream.id ?? stream.stream!.id;
    const pendingCount = async () => Number((await pg.query(`SELECT count(*) AS n FROM audit_stream_deliveries WHERE stream_id = $1 AND status = 'pending'`, [streamId]))[0].n);
    const drained = async (limitMs: number) => {
      const end = Date.now() + limitMs;
      while ((await pendingCount()) > 0 && Date.now() < end) await sleep(50);
    };
    received = 0;
    const withStream = await handshakes();
    const duringLoad = received;
    row('audit stream configured (delivering meanwhile)', withStream, empty);
    await drained(120_000);
    await sleep(500);

    // The previous design's wake-up, put back for comparison: a NOTIFY from a trigger on the
    // outbox, so at every handshake batch's commit.
    await pg.query(`
      CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_deliveries) THEN PERFORM pg_notify('audit_stream_deliveries', ''); END IF;
        RETURN NULL;
      END $$`);
    await pg.query(`CREATE TRIGGER bench_notify AFTER INSERT ON audit_stream_deliveries REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION bench_notify()`);
    const withNotify = await handshakes();
    row('  … and a NOTIFY per commit (previous design)', withNotify, empty);
    await pg.query(`DROP TRIGGER bench_notify ON audit_stream_deliveries`);
    await pg.query(`DROP FUNCTION bench_notify()`);
    await drained(120_000);
    await sleep(500);

    // A backlog written at once (by "another process": found by the worker's poll), drained with no other load.
    const before = received;
    await pg.query(
      `INSERT INTO audit_events (type, actor, tenant_id, details) SELECT 'sso.token_issued', 'system', $1::uuid, jsonb_build_object('i', g) FROM generate_series(1, $2::int) g`,
      [tenant.id, BACKLOG],
    );
    let first = 0;
    const tDrain = Date.now();
    const { cpu: drainCpu } = await cpuDuring(pids, async () => {
      while (received - before < BACKLOG && Date.now() - tDrain < 300_000) {
        if (!first && received > before) first = Date.now();
        await sleep(20);
      }
    });
    const drainS = (Date.now() - (first || tDrain)) / 1000;
    const deliveries = [
      { phase: `backlog of ${BACKLOG} events, no other load`, received: received - before, s: drainS.toFixed(1), 'events/s': Math.round((received - before) / drainS), 'CPU ms/event': ((drainCpu * 1000) / (received - before)).toFixed(2), 'load avg': loadavg() },
      { phase: `during the ${DURATION} s of handshakes (stream run)`, received: duringLoad, s: withStream.durationSeconds.toFixed(1), 'events/s': Math.round(duringLoad / withStream.durationSeconds), 'CPU ms/event': '', 'load avg': withStream.load },
    ];
    await api(`/api/v1/audit-streams/${streamId}`, { method: 'DELETE' });

    // 3 + 4: synthetic rows (the handshake's event and details) in this month's partition,
    // CHUNK rows per statement, until ROWS or INSERT_S seconds.
    const insertChunk = (n: number) =>
      pg.query(
        `INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, at, details)
         SELECT 'sso.token_issued', 'user:' || u, $2::uuid, '203.0.113.' || (g % 250), gen_random_uuid()::text,
                greatest(date_trunc('month', now()), now() - interval '1 hour' - (g % 86400) * interval '1 second'),
                jsonb_build_object('target', 'mb', 'targetId', $3::uuid, 'userId', u, 'jti', gen_random_uuid(), 'iat', 1764800000 + g, 'exp', 1764800060 + g)
           FROM generate_series(1, $1::int) g, LATERAL (SELECT gen_random_uuid() AS u) x`,
        [n, tenant.id, target.id],
      );
    let inserted = 0;
    const t0 = Date.now();
    while (inserted < EXPORT_ROWS) {
      const n = Math.min(CHUNK, EXPORT_ROWS - inserted);
      await insertChunk(n);
      inserted += n;
    }
    await pg.query('VACUUM ANALYZE audit_events');

    const metricsText = async () => (await fetch(`${service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const heapUsed = async () => Number(/^embed_idp_nodejs_heap_size_used_bytes (\S+)/m.exec(await metricsText())?.[1] ?? NaN) / 2 ** 20;
    const rssBefore = procKb(service.pid, 'VmRSS');
    const heapBefore = await heapUsed();
    let rssMax = rssBefore;
    let heapMax = heapBefore;
    const rssAt: number[] = [];
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, procKb(service.pid, 'VmRSS'))), 100);
    const heapSampler = setInterval(() => void heapUsed().then((h) => (heapMax = Math.max(heapMax, h))).catch(() => undefined), 1000);
    const t1 = process.hrtime.bigint();
    const res = await api('/api/v1/audit-events/export?format=ndjson');
    if (res.status !== 200) throw new Error(`export answered ${res.status} ${await res.text()}`);
    let lines = 0;
    let bytes = 0;
    let quarter = 1;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
      if (lines >= (quarter * inserted) / 4) rssAt[quarter++ - 1] = procKb(service.pid, 'VmRSS');
    }
    const exportS = Number(process.hrtime.bigint() - t1) / 1e9;
    clearInterval(sampler);
    clearInterval(heapSampler);
    const exportRow = {
      rows: lines, s: exportS.toFixed(1), 'rows/s': Math.round(lines / exportS), MB: (bytes / 2 ** 20).toFixed(0),
      'RSS before MB': (rssBefore / 1024).toFixed(0), 'RSS at 1/4, 2/4, 3/4, end MB': rssAt.map((k) => (k / 1024).toFixed(0)).join(', '), 'RSS max MB': (rssMax / 1024).toFixed(0),
      'heap before MB': heapBefore.toFixed(0), 'heap max MB': heapMax.toFixed(0), 'load avg': loadavg(),
    };

    while (inserted < ROWS && Date.now() - t0 < INSERT_S * 1000) {
      const n = Math.min(CHUNK, ROWS - inserted);
      await insertChunk(n);
      inserted += n;
      process.stderr.write(`  ${inserted} rows, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    }
    const insertS = (Date.now() - t0) / 1000;
    await pg.query('VACUUM ANALYZE audit_events');
    const [{ n: total }] = await pg.query(`SELECT count(*)::int AS n FROM audit_events`);
    const [month] = await pg.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_events'::regclass ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 1`,
    );
    await pg.query('CREATE EXTENSION IF NOT EXISTS pageinspect');
    const storage = await pg.query<{ index: string; mb: string; levels: number }>(
      `SELECT 'heap' AS index, (pg_relation_size($1::regclass) / 1048576)::int AS mb, NULL AS levels
       UNION ALL
       SELECT c.relname, (pg_relation_size(c.oid) / 1048576)::int, CASE WHEN am.amname = 'btree' THEN (SELECT level + 1 FROM bt_metap(c.relname)) END
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
        WHERE i.indrelid = $1::regclass`,
      [month.name],
    );
    const [{ n: monthRows }] = await pg.query(`SELECT count(*)::int AS n FROM ${month.name}`);
    const [{ total: monthBytes }] = await pg.query(`SELECT pg_total_relation_size($1::regclass) AS total`, [month.name]);

    // 4: handshakes with those rows in the table.
    await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: 3 });
    await sleep(500);
    const full = await handshakes();
    row(`no stream, ${total} rows in audit_events`, full, empty);

    // 5: retention drops the month holding them, as AuditPartitions does.
    const t2 = process.hrtime.bigint();
    await pg.query(`ALTER TABLE audit_events DETACH PARTITION ${month.name} CONCURRENTLY`);
    await pg.query(`DROP TABLE ${month.name}`);
    const dropMs = Number(process.hrtime.bigint() - t2) / 1e6;

    printTable(`SSO handshakes (Metabase), ${CONNECTIONS} connections, ${DURATION} s per run; CPU = service + Postgres`, rows);
    printTable(`webhook deliveries to a loopback receiver (204)`, deliveries);
    printTable(`export (ndjson) of ${inserted >= EXPORT_ROWS ? EXPORT_ROWS : inserted} rows`, [exportRow]);
    printTable(`${month.name}: ${monthRows} rows (${inserted} inserted in ${insertS.toFixed(0)} s), ${(Number(monthBytes) / monthRows).toFixed(0)} bytes/row in all`, storage.map((x) => ({ relation: x.index, MB: x.mb, 'B/row': ((Number(x.mb) * 1048576) / monthRows).toFixed(0), 'btree levels': x.levels ?? '' })));
    printTable('retention', [{ partition: month.name, rows: monthRows, 'DETACH CONCURRENTLY + DROP ms': dropMs.toFixed(0) }]);
    console.log(`\nload average: ${loadavg()}`);
  } finally {
    await service.stop();
    await pg.stop();
    receiver.close();
  }
});
