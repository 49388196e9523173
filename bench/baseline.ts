/*
 * The baseline for bench/sso.ts: what the public Metabase SSO examples do — an Express
 * handler that signs the claims with jsonwebtoken and a *string* secret and redirects to
 * /auth/sso (GET /sso/metabase). No session lookup, nothing stored. GET
 * /sso/metabase-keyobject is the same with the key built once, for a stricter comparison. Run in its own process (as the service is):
 *
 *   PORT=4000 BASELINE_SECRET=... BASELINE_METABASE=https://mb.example.com node -r ts-node/register/transpile-only bench/baseline.ts
 */
import express from 'express';
import jwt from 'jsonwebtoken';
import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';

const secret = process.env.BASELINE_SECRET ?? 'baseline-secret-baseline-secret-0000';
const metabase = process.env.BASELINE_METABASE ?? 'https://metabase.example.com';
const app = express();
app.disable('x-powered-by');

/** The same handler with the key built once (a KeyObject), as the service does. */
const keyObject = createSecretKey(Buffer.from(secret, 'utf8'));

app.get('/sso/metabase', (req, res) => handshake(req, res, secret));
app.get('/sso/metabase-keyobject', (req, res) => handshake(req, res, keyObject));

function handshake(req: express.Request, res: express.Response, key: string | KeyObject): void {
  const now = Math.floor(Date.now() / 1000);
  // The same claims the service sends for the benchmark's users.
  const token = jwt.sign(
    {
      region: 'emea',
      plan: 'gold',
      role: 'analyst',
      email: 'user@example.com',
      first_name: 'Bench',
      last_name: 'User',
      groups: ['Analysts', 'Viewers'],
      iat: now,
      exp: now + 120,
      jti: randomUUID(),
    },
    key,
    { algorithm: 'HS256' },
  );
  const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : '/';
  res.redirect(302, `${metabase}/auth/sso?jwt=${token}&return_to=${encodeURIComponent(returnTo)}`);
}

const server = app.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => {
  // The parent waits for this line.
  console.log(`baseline listening on ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
