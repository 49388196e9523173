import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify as verifyTotpCode } from 'otplib';
import QRCode from 'qrcode';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { updatedRows } from '../common/db-errors';
import { RequestMeta } from '../common/request-meta';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { SecretBox } from '../crypto/secret-box';
import { randomToken, sha256Hex } from '../crypto/tokens';
import { joinTenant, tenantEnabled } from '../tenants/tenants.sql';
import { TenantsService } from '../tenants/tenants.service';
import { joinUser, userEnabled } from '../users/users.sql';
import type { Tenant } from '../tenants/tenant.entity';
import { totpSecretContext } from './mfa.entity';

/** RFC 6238 §5.2: one step of network delay either way (±30 s) is the recommended window. */
const TOTP_WINDOW_SECONDS = 30;
/** A sign-in waiting for its second step lasts this long. */
export const PENDING_SECONDS = 600;
/** A WebAuthn challenge is good for this long (WebAuthn §5.4.4 `timeout`: 5 minutes). */
const CHALLENGE_SECONDS = 300;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford-like base32 without the look-alikes I, L, O, U: 16 characters = 80 random bits. */
const RECOVERY_ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789';

/** What a user has set up, and what their tenant asks of them. */
export interface MfaState {
  policy: Tenant['mfaPolicy'];
  totp: boolean;
  /** TOTP set up but not confirmed with a code yet. */
  totpPending: boolean;
  passkeys: { id: string; name: string; createdAt: Date; lastUsedAt: Date | null }[];
  recoveryCodesLeft: number;
}

/** What a right password still needs: nothing, a second factor, or setting one up first. */
export type SecondStep = 'none' | 'verify' | 'enrol';

export function hasFactor(s: Pick<MfaState, 'totp' | 'passkeys'>): boolean {
  return s.totp || s.passkeys.length > 0;
}

export interface MfaUser {
  id: string;
  tenantId: string;
  email: string;
}

export interface PendingLogin {
  id: string;
  userId: string;
  tenantId: string;
  email: string;
  accountKey: string;
  purpose: 'verify' | 'enrol';
  next: string | null;
  previousSessionId: string | null;
}

/** The user's typed code: digits (spaces allowed) for TOTP, anything else tried as a recovery code. */
export function normalizeTotp(input: string): string | null {
  const s = input.replace(/\s+/g, '');
  return /^\d{6}$/.test(s) ? s : null;
}

export function normalizeRecoveryCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]+/g, '');
  return s.length === 16 && [...s].every((c) => RECOVERY_ALPHABET.includes(c)) ? s : null;
}

function newRecoveryCode(): string {
  // 256 is a multiple of 32: every byte maps to one character without bias.
  const raw = [...randomBytes(16)].map((b) => RECOVERY_ALPHABET[b % 32]).join('');
  return raw.match(/.{4}/g)!.join('-');
}

/**
 * Second factors: TOTP (otplib, RFC 6238), passkeys and security keys (@simplewebauthn/server,
 * W3C WebAuthn), recovery codes; and the sign-ins waiting for their second step. Every change
 * is audited in the transaction that makes it.
 */
@Injectable()
export class MfaService {
  private readonly rpId: string;
  private readonly origin: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    private readonly tenants: TenantsService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    // WebAuthn §5.1.3 / §13.4.9: the RP ID is the host the browser sees (PUBLIC_URL's), and
    // the origin in clientDataJSON must be exactly ours.
    const url = new URL(app.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  async state(userId: string, tenantId: string): Promise<MfaState> {
    const [row]: { totp_confirmed: boolean | null; codes_left: number }[] = await this.dataSource.query(
      `SELECT (SELECT m.confirmed_at IS NOT NULL FROM mfa_totp m WHERE m.user_id = $1) AS totp_confirmed,
              (SELECT count(*)::int FROM mfa_recovery_codes r WHERE r.user_id = $1 AND r.used_at IS NULL) AS codes_left`,
      [userId],
    );
    const policy = (await this.tenants.findById(tenantId)).mfaPolicy;
    const passkeys: { id: string; name: string; created_at: Date; last_used_at: Date | null }[] = await this.dataSource.query(
      `SELECT id, name, created_at, last_used_at FROM mfa_webauthn_credentials WHERE user_id = $1 ORDER BY created_at`,
      [userId],
    );
    return {
      policy,
      totp: row?.totp_confirmed === true,
      totpPending: row?.totp_confirmed === false,
      passkeys: passkeys.map((p) => ({ id: p.id, name: p.name, createdAt: p.created_at, lastUsedAt: p.last_used_at })),
      recoveryCodesLeft: row?.codes_left ?? 0,
    };
  }

  // --- Sign-ins waiting for their second step --------------------------------------------

  /**
   * `off`: none. Otherwise a user with a confirmed factor is asked for it; without one,
   * `required` has them set one up first and `optional` lets them in.
   */
  async secondStepFor(policy: Tenant['mfaPolicy'], userId: string): Promise<SecondStep> {
    if (policy === 'off') return 'none';
    const [row]: { has: boolean }[] = await this.dataSource.query(
      `SELECT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM mfa_webauthn_credentials WHERE user_id = $1) AS has`,
      [userId],
    );
    if (row?.has) return 'verify';
    return policy === 'required' ? 'enrol' : 'none';
  }

  async createPending(
    p: { userId: string; tenantId: string; accountKey: string; purpose: 'verify' | 'enrol'; next: string | null; previousSessionId: string | null },
    manager?: EntityManager,
  ): Promise<string> {
    const token = randomToken(32);
    await (manager ?? this.dataSource).query(
      `INSERT INTO mfa_pending_logins (id, user_id, tenant_id, account_key, purpose, next, previous_session_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
      [sha256Hex(token), p.userId, p.tenantId, p.accountKey, p.purpose, p.next, p.previousSessionId, PENDING_SECONDS],
    );
    return token;
  }

  /** The live pending sign-in of a cookie value (its user and tenant still enabled), or null. */
  async pending(cookie: unknown): Promise<PendingLogin | null> {
    if (typeof cookie !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) return null;
    const rows: any[] = await this.dataSource.query(
      `SELECT p.id, p.user_id, p.tenant_id, u.email, p.account_key, p.purpose, p.next, p.previous_session_id
         FROM mfa_pending_logins p
         ${joinUser('u', { userId: 'p.user_id', tenantId: 'p.tenant_id' })}
         ${joinTenant('t', 'p.tenant_id')}
        WHERE p.id = $1 AND p.expires_at > now() AND ${userEnabled('u')} AND ${tenantEnabled('t')}`,
      [sha256Hex(cookie)],
    );
    const r = rows[0];
    return r
      ? { id: r.id, userId: r.user_id, tenantId: r.tenant_id, email: r.email, accountKey: r.account_key, purpose: r.purpose, next: r.next, previousSessionId: r.previous_session_id }
      : null;
  }

  /** Ends a pending sign-in; true for exactly one caller (the one whose second step completes it). */
  async endPending(id: string, manager?: EntityManager): Promise<boolean> {
    return updatedRows(await (manager ?? this.dataSource).query(`DELETE FROM mfa_pending_logins WHERE id = $1 RETURNING id`, [id])).length > 0;
  }


  // --- TOTP ------------------------------------------------------------------------------

  /**
   * A new TOTP secret for the user, sealed, not yet a factor (confirmTotp makes it one);
   * replaces an unconfirmed one, never a confirmed one (remove that first). Returns what the
   * authenticator app needs: the otpauth URI (Key Uri Format), as a QR code (inline SVG) and
   * the secret to type.
   */
  async startTotp(meta: RequestMeta, user: MfaUser, issuer: string): Promise<{ secret: string; uri: string; qrSvg: string } | null> {
    const secret = generateSecret();
    const started = await this.dataSource.transaction(async (m) => {
      const rows = updatedRows(
        await m.query(
          `INSERT INTO mfa_totp (user_id, tenant_id, secret_enc) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, last_step = NULL, created_at = now()
             WHERE mfa_totp.confirmed_at IS NULL
           RETURNING user_id`,
          [user.id, user.tenantId, this.box.seal(secret, totpSecretContext(user.id))],
        ),
      );
      if (!rows.length) return false;
      await this.audit.record(meta, { type: 'mfa.totp.started', tenantId: user.tenantId, details: { userId: user.id } }, m);
      return true;
    });
    if (!started) return null;
    return { secret, ...(await this.totpPicture(secret, user.email, issuer)) };
  }

  /** The secret being set up (unconfirmed) again, e.g. to show the page once more after a wrong code. */
  async pendingTotp(user: MfaUser, issuer: string): Promise<{ secret: string; uri: string; qrSvg: string } | null> {
    const [row]: { secret_enc: string }[] = await this.dataSource.query(`SELECT secret_enc FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NULL`, [user.id]);
    if (!row) return null;
    const secret = this.box.open(row.secret_enc, totpSecretContext(user.id));
    return { secret, ...(await this.totpPicture(secret, user.email, issuer)) };
  }

  private async totpPicture(secret: string, email: string, issuer: string): Promise<{ uri: string; qrSvg: string }> {
    const uri = generateURI({ issuer, label: email, secret });
    // SVG made here from the URI (no external service sees the secret); shown as an <img> data: URL.
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { uri, qrSvg };
  }

  /** Confirms the unconfirmed secret with a first code (which is spent). */
  async confirmTotp(meta: RequestMeta, user: MfaUser, code: string): Promise<boolean> {
    return this.checkTotp(meta, user, code, 'confirm');
  }

  /** A code of the user's confirmed authenticator, each time step accepted once. */
  async verifyTotp(meta: RequestMeta, user: MfaUser, code: string): Promise<boolean> {
    return this.checkTotp(meta, user, code, 'verify');
  }

  private async checkTotp(meta: RequestMeta, user: MfaUser, code: string, mode: 'confirm' | 'verify'): Promise<boolean> {
    const token = normalizeTotp(code);
    if (!token) return false;
    const [row]: { secret_enc: string; last_step: string | null }[] = await this.dataSource.query(
      `SELECT secret_enc, last_step FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS ${mode === 'confirm' ? '' : 'NOT '}NULL`,
      [user.id],
    );
    if (!row) return false;
    const secret = this.box.open(row.secret_enc, totpSecretContext(user.id));
    const result = await verifyTotpCode({
      secret,
      token,
      epochTolerance: TOTP_WINDOW_SECONDS,
      ...(row.last_step !== null ? { afterTimeStep: Number(row.last_step) } : {}),
    });
    if (!result.valid) return false;
    // The step is spent atomically: of any number of concurrent requests with this code (or an
    // older one), the row lock lets one UPDATE see last_step below it; the rest match no row.
    return this.dataSource.transaction(async (m) => {
      const spent = updatedRows(
        await m.query(
          `UPDATE mfa_totp SET last_step = $2 ${mode === 'confirm' ? ', confirmed_at = now()' : ''}
            WHERE user_id = $1 AND confirmed_at IS ${mode === 'confirm' ? '' : 'NOT '}NULL AND (last_step IS NULL OR last_step < $2)
            RETURNING user_id`,
          [user.id, (result as { timeStep: number }).timeStep],
        ),
      );
      if (!spent.length) return false;
      if (mode === 'confirm') await this.audit.record(meta, { type: 'mfa.totp.enrolled', tenantId: user.tenantId, details: { userId: user.id } }, m);
      return true;
    });
  }

  async removeTotp(meta: RequestMeta, user: MfaUser): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const gone = updatedRows(await m.query(`DELETE FROM mfa_totp WHERE user_id = $1 RETURNING user_id`, [user.id]));
      if (gone.length) await this.audit.record(meta, { type: 'mfa.totp.removed', tenantId: user.tenantId, details: { userId: user.id } }, m);
      return gone.length > 0;
    });
  }

  // --- Recovery codes ----------------------------------------------------------------------

  /** Ten new codes, replacing the old ones; returned once, only their SHA-256 is kept. */
  async newRecoveryCodes(meta: RequestMeta, user: MfaUser): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.dataSource.transaction(async (m) => {
      await m.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]);
      await m.query(
        `INSERT INTO mfa_recovery_codes (user_id, tenant_id, code_hash) SELECT $1, $2, unnest($3::text[])`,
        [user.id, user.tenantId, codes.map((c) => sha256Hex(normalizeRecoveryCode(c)!))],
      );
      await this.audit.record(meta, { type: 'mfa.recovery_codes.created', tenantId: user.tenantId, details: { userId: user.id, count: codes.length } }, m);
    });
    return codes;
  }

  /** Spends a recovery code: true for exactly one use of it. */
  async useRecoveryCode(meta: RequestMeta, user: MfaUser, input: string): Promise<boolean> {
    const code = normalizeRecoveryCode(input);
    if (!code) return false;
    return this.dataSource.transaction(async (m) => {
      const rows = updatedRows<{ left: number }>(
        await m.query(
          `UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
           RETURNING (SELECT count(*)::int - 1 FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS left`,
          [user.id, sha256Hex(code)],
        ),
      );
      if (!rows.length) return false;
      await this.audit.record(meta, { type: 'mfa.recovery_code.used', tenantId: user.tenantId, details: { userId: user.id, left: rows[0].left } }, m);
      return true;
    });
  }

  // --- Passkeys / security keys (WebAuthn) -------------------------------------------------

  private async storeChallenge(userId: string, challenge: string, purpose: 'register' | 'authenticate'): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO mfa_webauthn_challenges (challenge, user_id, purpose, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [challenge, userId, purpose, CHALLENGE_SECONDS],
    );
  }

  /** Takes a challenge we issued to this user for this purpose: true once, then it is gone. */
  private async takeChallenge(userId: string, challenge: string, purpose: 'register' | 'authenticate'): Promise<boolean> {
    const rows = updatedRows(
      await this.dataSource.query(
        `DELETE FROM mfa_webauthn_challenges WHERE challenge = $1 AND user_id = $2 AND purpose = $3 AND expires_at > now() RETURNING challenge`,
        [challenge, userId, purpose],
      ),
    );
    return rows.length > 0;
  }

  /** The challenge the browser signed, read from clientDataJSON (verified again by the library). */
  private static challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | null {
    try {
      const raw = response?.response?.clientDataJSON;
      if (typeof raw !== 'string' || raw.length > 8192) return null;
      const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { challenge?: unknown };
      return typeof parsed.challenge === 'string' && parsed.challenge.length <= 128 ? parsed.challenge : null;
    } catch {
      return null;
    }
  }

  async registrationOptions(user: MfaUser, rpName: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing: { id: string; transports: string[] }[] = await this.dataSource.query(`SELECT id, transports FROM mfa_webauthn_credentials WHERE user_id = $1`, [user.id]);
    const options = await generateRegistrationOptions({
      rpName,
      rpID: this.rpId,
      userName: user.email,
      userID: Buffer.from(user.id, 'utf8'),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransportFuture[] })),
      // A second factor: user verification is welcome, not required (a plain security key has none).
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: CHALLENGE_SECONDS * 1000,
    });
    await this.storeChallenge(user.id, options.challenge, 'register');
    return options;
  }

  /** Verifies and stores a new credential; null (nothing stored) when it does not verify. */
  async register(meta: RequestMeta, user: MfaUser, response: RegistrationResponseJSON, name: string): Promise<{ id: string } | null> {
    const challenge = MfaService.challengeOf(response);
    if (!challenge || !(await this.takeChallenge(user.id, challenge, 'register'))) return null;
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
    } catch {
      return null;
    }
    if (!verified.verified || !verified.registrationInfo) return null;
    const cred = verified.registrationInfo.credential;
    return this.dataSource.transaction(async (m) => {
      const rows = updatedRows(
        await m.query(
          `INSERT INTO mfa_webauthn_credentials (id, user_id, tenant_id, public_key, counter, transports, name)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
          [cred.id, user.id, user.tenantId, Buffer.from(cred.publicKey), cred.counter, cred.transports ?? [], name],
        ),
      );
      if (!rows.length) return null;
      await this.audit.record(meta, { type: 'mfa.passkey.registered', tenantId: user.tenantId, details: { userId: user.id, credentialId: cred.id, name } }, m);
      return { id: cred.id };
    });
  }

  async authenticationOptions(user: MfaUser): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
    const creds: { id: string; transports: string[] }[] = await this.dataSource.query(`SELECT id, transports FROM mfa_webauthn_credentials WHERE user_id = $1`, [user.id]);
    if (!creds.length) return null;
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransportFuture[] })),
      userVerification: 'preferred',
      timeout: CHALLENGE_SECONDS * 1000,
    });
    await this.storeChallenge(user.id, options.challenge, 'authenticate');
    return options;
  }

  /** A signed challenge from one of the user's credentials; the signature counter must move on (WebAuthn §6.1.1). */
  async authenticate(meta: RequestMeta, user: MfaUser, response: AuthenticationResponseJSON): Promise<boolean> {
    const challenge = MfaService.challengeOf(response);
    if (!challenge || typeof response?.id !== 'string' || response.id.length > 1400) return false;
    const [cred]: { id: string; public_key: Buffer; counter: string; transports: string[] }[] = await this.dataSource.query(
      `SELECT id, public_key, counter, transports FROM mfa_webauthn_credentials WHERE id = $1 AND user_id = $2`,
      [response.id, user.id],
    );
    if (!cred || !(await this.takeChallenge(user.id, challenge, 'authenticate'))) return false;
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        credential: { id: cred.id, publicKey: new Uint8Array(cred.public_key), counter: Number(cred.counter), transports: cred.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: false,
      });
    } catch {
      return false;
    }
    if (!verified.verified) return false;
    const newCounter = verified.authenticationInfo.newCounter;
    // Counter 0 means the authenticator keeps none (allowed); else it must grow (a clone would lag).
    const rows = updatedRows(
      await this.dataSource.query(
        `UPDATE mfa_webauthn_credentials SET counter = $3, last_used_at = now()
          WHERE id = $1 AND user_id = $2 AND ($3 = 0 OR counter < $3) RETURNING id`,
        [cred.id, user.id, newCounter],
      ),
    );
    return rows.length > 0;
  }

  async removePasskey(meta: RequestMeta, user: MfaUser, credentialId: string): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const gone = updatedRows(await m.query(`DELETE FROM mfa_webauthn_credentials WHERE id = $1 AND user_id = $2 RETURNING id`, [credentialId, user.id]));
      if (gone.length) await this.audit.record(meta, { type: 'mfa.passkey.removed', tenantId: user.tenantId, details: { userId: user.id, credentialId } }, m);
      return gone.length > 0;
    });
  }

  /**
   * An administrator removes every factor of a user (a lost phone and lost codes): TOTP,
   * passkeys, recovery codes and pending second steps. Audited as `mfa.reset`.
   */
  async reset(meta: RequestMeta, tenantId: string, userId: string, manager?: EntityManager): Promise<{ totp: number; passkeys: number; recoveryCodes: number }> {
    const run = async (m: EntityManager) => {
      const totp = updatedRows(await m.query(`DELETE FROM mfa_totp WHERE user_id = $1 AND tenant_id = $2 RETURNING user_id`, [userId, tenantId])).length;
      const passkeys = updatedRows(await m.query(`DELETE FROM mfa_webauthn_credentials WHERE user_id = $1 AND tenant_id = $2 RETURNING id`, [userId, tenantId])).length;
      const recoveryCodes = updatedRows(await m.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND tenant_id = $2 RETURNING code_hash`, [userId, tenantId])).length;
      await m.query(`DELETE FROM mfa_pending_logins WHERE user_id = $1 AND tenant_id = $2`, [userId, tenantId]);
      const counts = { totp, passkeys, recoveryCodes };
      await this.audit.record(meta, { type: 'mfa.reset', tenantId, details: { userId, removed: counts } }, m);
      return counts;
    };
    return manager ? run(manager) : this.dataSource.transaction(run);
  }
}
