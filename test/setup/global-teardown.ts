import * as fs from 'node:fs';
import { Client } from 'pg';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__EMBED_IDP_PG__ as
    | { pg: { stop(): Promise<void> }; dir: string }
    | undefined;
  if (state) {
    await state.pg.stop();
    fs.rmSync(state.dir, { recursive: true, force: true });
  } else if (process.env.TEST_PG_SERVER_URL && process.env.TEST_PG_TEMPLATE) {
    // External server: leave it as we found it.
    const c = new Client({ connectionString: process.env.TEST_PG_SERVER_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${process.env.TEST_PG_TEMPLATE}" WITH (FORCE)`);
    await c.end();
  }
  if (process.env.DATA_DIR?.includes('embed-idp-data-')) fs.rmSync(process.env.DATA_DIR, { recursive: true, force: true });
}
