/*
 * `npm run bench`: every benchmark, one after the other, each in its own process (so one
 * cannot warm or load the machine for the next). `npm run bench -- sso` runs only bench/sso.ts;
 * `npm run bench -- audit-scale` runs a bench that is not in the default run.
 * Figures are printed; nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { ROOT } from './lib';

const ALL = ['login', 'login-burst', 'login-mfa', 'sso', 'products', 'sso-rate', 'workers', 'broker', 'handoff', 'trusted-issuer', 'signing'];
// Run only when named: they insert millions of rows and take minutes.
const ON_REQUEST = ['audit', 'audit-scale'];
const chosen = process.argv.slice(2).filter((a) => ALL.includes(a) || ON_REQUEST.includes(a));
let failed = false;
for (const name of chosen.length ? chosen : ALL) {
  console.log(`\n===== bench/${name}.ts =====`);
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', `bench/${name}.ts`], { cwd: ROOT, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`bench/${name}.ts exited with ${r.status}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
