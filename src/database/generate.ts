/*
 * `npm run migration:generate -- <VerbNoun>` — compares the entities with the migrated
 * database and writes migrations/<timestamp>-<VerbNoun>.ts with the difference (review it,
 * then add it to migrations/index.ts). Works against DATABASE_URL or the embedded database.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../config/configuration';
import { createDataSource } from './data-source';
import { resolveDatabaseUrl } from './database-url';
import { runMigrationsLocked } from './migrations-runner';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    throw new Error('usage: npm run migration:generate -- VerbNoun   (e.g. AddHandoffSecret)');
  }
  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config.database, config.app.dataDir);
  const ds = createDataSource(url, 2);
  try {
    await ds.initialize();
    await runMigrationsLocked(ds);
    const sql = await ds.driver.createSchemaBuilder().log();
    if (sql.upQueries.length === 0) {
      console.log('entities and migrations agree: nothing to generate');
      return;
    }
    const ts = Date.now();
    const q = (s: string) => '`' + s.replace(/`/g, '\\`').replace(/\$\{/g, '\\${') + '`';
    const body = `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${name}${ts} implements MigrationInterface {
  name = '${name}${ts}';

  public async up(q: QueryRunner): Promise<void> {
${sql.upQueries.map((u) => `    await q.query(${q(u.query)});`).join('\n')}
  }

  public async down(q: QueryRunner): Promise<void> {
${sql.downQueries.reverse().map((d) => `    await q.query(${q(d.query)});`).join('\n')}
  }
}
`;
    const file = path.join(__dirname, '..', '..', 'migrations', `${ts}-${name}.ts`);
    fs.writeFileSync(file, body);
    console.log(`wrote ${path.relative(process.cwd(), file)}: review it, then add ${name}${ts} to migrations/index.ts`);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
