import express from 'express';
import jwt from 'jsonwebtoken';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { FakeGrafana, startFakeGrafana } from './grafana';

/** The fake Grafana refuses a token that breaks any one of its rules (and accepts a good one). */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kidOf = (k: KeyObject) => createHash('sha256').update(k.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 20);
const RS_KID = kidOf(rsa.publicKey);
const EC_KID = kidOf(ec.publicKey);
const jwkOf = (k: KeyObject, alg: string) => ({ ...k.export({ format: 'jwk' }), kid: kidOf(k), alg, use: 'sig' });

describe('fake Grafana ([auth.jwt], jwk_set_url)', () => {
  let jwks: Server;
  let fake: FakeGrafana;
  let clock = 0;
  let served = [jwkOf(rsa.publicKey, 'RS256'), jwkOf(ec.publicKey, 'ES256')];

  beforeAll(async () => {
    const app = express();
    app.get('/jwks.json', (_req, res) => res.json({ keys: served }));
    jwks = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    fake = await startFakeGrafana({ jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`, now: () => clock });
  });
  afterAll(async () => {
    await fake.close();
    await new Promise((r) => jwks.close(r));
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => {
    const c: Record<string, unknown> = { sub: 'ada@acme.test', email: 'ada@acme.test', login: 'ada@acme.test', name: 'Ada', role: 'Editor', iat: now(), exp: now() + 120, jti: 'j1', ...over };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  const rs = (c = claims(), header: Record<string, unknown> = { kid: RS_KID }) => jwt.sign(c, rsa.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', ...header } as jwt.JwtHeader });

  it('accepts a good RS256 and a good ES256 token', async () => {
    expect(await fake.check(rs())).toMatchObject({ ok: true, login: { login: 'ada@acme.test', role: 'Editor', kid: RS_KID } });
    const es = jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', header: { alg: 'ES256', kid: EC_KID } });
    expect(await fake.check(es)).toMatchObject({ ok: true });
  });

  const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  it.each<[string, () => string, string]>([
    ['HS256 signed with the public key as the secret', () => jwt.sign(claims(), publicPem, { algorithm: 'HS256', header: { alg: 'HS256', kid: RS_KID } as jwt.JwtHeader }), 'alg_not_allowed'],
    ['alg none', () => `${b64({ alg: 'none', kid: RS_KID })}.${b64(claims())}.`, 'alg_not_allowed'],
    ['no kid', () => rs(claims(), {}), 'no_kid'],
    ['a kid not in the JWKS', () => rs(claims(), { kid: 'not-published' }), 'unknown_kid'],
    ['signed by another key under a published kid', () => jwt.sign(claims(), other.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', kid: RS_KID } }), 'bad_signature'],
    ['ES256 header on the RSA key', () => jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', header: { alg: 'ES256', kid: RS_KID } }), 'alg_mismatch'],
    ['a payload changed after signing', () => { const [h, , s] = rs().split('.'); return `${h}.${b64(claims({ role: 'Admin' }))}.${s}`; }, 'bad_signature'],
    ['expired', () => rs(claims({ iat: now() - 300, exp: now() - 10 })), 'expired'],
    ['no exp', () => rs(claims({ exp: undefined })), 'no_exp'],
    ['no iat', () => jwt.sign(claims({ iat: undefined }), rsa.privateKey, { algorithm: 'RS256', noTimestamp: true, header: { alg: 'RS256', kid: RS_KID } }), 'no_iat'],
    ['iat in the future', () => rs(claims({ iat: now() + 600, exp: now() + 700 })), 'iat_in_future'],
    ['no sub', () => rs(claims({ sub: undefined })), 'no_sub'],
    ['no login claim', () => rs(claims({ login: undefined })), 'no_login'],
    ['no email claim', () => rs(claims({ email: undefined })), 'no_email'],
    ['a role that is not a Grafana role', () => rs(claims({ role: 'Superuser' })), 'bad_role'],
  ])('refuses %s', async (_name, token, reason) => {
    expect(await fake.check(token())).toEqual({ ok: false, reason });
  });

  it('with expect_claims, refuses a token for another audience or none, and takes a listed one', async () => {
    const strict = await startFakeGrafana({ jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`, now: () => clock, expectClaims: { aud: 'https://grafana-a.example' } });
    try {
      expect(await strict.check(rs(claims({ aud: 'https://grafana-a.example' })))).toMatchObject({ ok: true });
      expect(await strict.check(rs(claims({ aud: ['x', 'https://grafana-a.example'] })))).toMatchObject({ ok: true });
      expect(await strict.check(rs(claims({ aud: 'https://grafana-b.example' })))).toEqual({ ok: false, reason: 'unexpected_aud' });
      expect(await strict.check(rs(claims()))).toEqual({ ok: false, reason: 'unexpected_aud' });
    } finally {
      await strict.close();
    }
  });

  it('keeps the JWKS for its cache TTL: a key published later is unknown until the cache expires', async () => {
    const late = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const lateKid = kidOf(late.publicKey);
    await fake.check(rs()); // the cache is warm
    served = [...served, jwkOf(late.publicKey, 'RS256')];
    const token = jwt.sign(claims(), late.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', kid: lateKid } });
    expect(await fake.check(token)).toEqual({ ok: false, reason: 'unknown_kid' });
    clock += 60 * 60 * 1000;
    expect(await fake.check(token)).toMatchObject({ ok: true });
  });
});
