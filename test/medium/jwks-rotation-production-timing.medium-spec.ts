import { CompactSign, type JWK } from 'jose';
import jwt from 'jsonwebtoken';
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import request from 'supertest';
import { TargetKeysService } from '../../src/catalog/target-keys';
import { TargetKeyring } from '../../src/issuance/target-keyring';
import { makeApiKey } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * A key rotation on the production clock: the default publication delay (70 min), a Grafana
 * caching our JWKS for its default 60 min behind a cache that may hand it a copy up to our
 * 5 min max-age old, and signing processes that re-read the keys at most every 30 s. Time is
 * simulated (the key service and the keyring take the clock as an argument), so hours pass in
 * a test: for every minute from before the rotation until the old key is gone, and whenever the
 * verifier last fetched the JWKS, the key that signs is in the verifier's cached copy and the
 * token verifies with it (jsonwebtoken, the JWK turned into a key by node:crypto); and a token
 * stays verifiable with a freshly fetched JWKS until it has expired. A verifier caching two
 * hours would fail: the delay is what makes it work.
 */
const MIN = 60_000;
const GRAFANA_CACHE_MS = 60 * MIN;
const OUR_MAX_AGE_MS = 5 * MIN;

describe('JWKS rotation on the production clock (70 min delay, verifiers caching 60 min)', () => {
  let t: TestApp;
  let keys: TargetKeysService;
  let target: { id: string; ttlSeconds: number };

  beforeAll(async () => {
    t = await createTestApp();
    keys = t.app.get(TargetKeysService);
    const key = await makeApiKey(t.ds, null);
    const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`)
      .send({ slug: 'grafana-clock', kind: 'grafana', baseUrl: 'https://grafana.example.com', settings: { alg: 'ES256', tokenTtlSeconds: 600 } }).expect(201);
    target = { id: created.body.id, ttlSeconds: 600 };
  });
  afterAll(async () => {
    await t?.close();
  });

  /**
   * A verifier's copy: what our JWKS said `stale` ms before it fetched (an HTTP cache on the
   * way). Before the rotation the new key did not exist yet (its row is written by it).
   */
  let rotation: { at: number; kid: string } | null = null;
  const fetchJwks = async (at: number, stale = OUR_MAX_AGE_MS) => {
    const asOf = at - stale;
    return (await keys.targetJwks(target.id, asOf)).filter((k) => !(rotation && k.kid === rotation.kid && asOf < rotation.at));
  };
  const verifies = async (token: string, jwks: JWK[]) => {
    const { kid } = jwt.decode(token, { complete: true })!.header;
    const jwk = jwks.find((k) => k.kid === kid);
    if (!jwk) return false;
    jwt.verify(token, createPublicKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput), { algorithms: ['ES256', 'RS256'], ignoreExpiration: true });
    return true;
  };

  it('never fails a sign-in, whenever the verifier last fetched; each token verifies until it expires', async () => {
    const t0 = Date.now();
    const rotateAt = t0 + 120 * MIN;
    // A process signing all along (its keyring re-reads at most every 30 s, on this clock).
    const keyring = new TargetKeyring(keys, { signingKeyPublicationDelaySeconds: 4200 } as never);
    const rotated = await keys.rotate({ actor: 'test', ip: null, requestId: null }, target.id, rotateAt);
    rotation = { at: rotateAt, kid: rotated.kid };
    expect(rotated.signsFrom.getTime() - rotateAt).toBe(70 * MIN);
    const end = rotated.signsFrom.getTime() + target.ttlSeconds * 1000 + 10 * MIN;

    // One token per minute, signed by the key the process picks then.
    const minutes: { at: number; token: string; kid: string }[] = [];
    for (let at = rotateAt - 70 * MIN; at <= end; at += MIN) {
      const k = (await keyring.signingKey(target.id, at))!;
      const token = await new CompactSign(new TextEncoder().encode(JSON.stringify({ sub: 'a', iat: Math.floor(at / 1000) }))).setProtectedHeader({ alg: k.alg, typ: 'JWT', kid: k.kid }).sign(k.key);
      minutes.push({ at, token, kid: k.kid });
    }
    expect(new Set(minutes.map((m) => m.kid)).size).toBe(2);

    // Whenever the verifier's 60 min cache was filled (every 5 min phase), every sign-in in it passes.
    const failuresWith = async (cacheMs: number) => {
      let failures = 0;
      for (let phase = 0; phase < cacheMs; phase += 5 * MIN) {
        // The verifier fetches at start - phase, then every cacheMs.
        const first = minutes[0].at - phase;
        const copies = new Map<number, JWK[]>();
        for (const m of minutes) {
          const n = Math.floor((m.at - first) / cacheMs);
          if (!copies.has(n)) copies.set(n, await fetchJwks(first + n * cacheMs));
          if (!(await verifies(m.token, copies.get(n)!))) failures++;
        }
      }
      return failures;
    };
    expect(await failuresWith(GRAFANA_CACHE_MS)).toBe(0);
    // The control: a verifier caching longer than the delay meets the new kid before it has it.
    expect(await failuresWith(120 * MIN)).toBeGreaterThan(0);

    // A token stays verifiable by a verifier fetching afresh until it expires (plus clock leeway).
    for (const m of minutes) {
      for (const after of [0, target.ttlSeconds * 1000, target.ttlSeconds * 1000 + MIN]) {
        expect(await verifies(m.token, await fetchJwks(m.at + after, 0))).toBe(true);
      }
    }
  }, 120_000);
});
