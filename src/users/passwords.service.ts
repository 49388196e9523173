import { Injectable, Logger } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import type { Options } from '@node-rs/argon2';
import { HashClient, HashSlots } from './hash-slots';

/**
 * argon2id with OWASP's minimum configuration (m=19 MiB, t=2, p=1). @node-rs/argon2 hashes
 * on the libuv thread pool, so a login does not block the event loop.
 */
export const ARGON2_OPTIONS: Options = {
  // Algorithm.Argon2id: the package's enum is an ambient const enum, unusable with isolatedModules.
  algorithm: 2,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
};

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * The PHC string for `password` (NFKC-normalised, see normalise). Production hashes only
 * through PasswordsService, always with ARGON2_OPTIONS; `options` is for test factories,
 * which hash with cheap parameters (factories are not what is under test). Verification
 * reads the parameters from the PHC string, so such a hash still verifies.
 */
export function hashPassword(password: string, options: Options = ARGON2_OPTIONS): Promise<string> {
  return hash(normalise(password), options);
}

/**
 * A hash of a random password nobody knows, made once with ARGON2_OPTIONS. Verifying
 * against it costs what a real verification costs, so a login for an unknown email takes
 * as long as one with a wrong password.
 */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$hCmBBAV6q//VmOIGOTCKcQ$qsSEsiKjM1hUxhCsHpfXdKFx+8YSt4xvDYgHNyIiBUs';

/**
 * Every argon2id computation (login verifications, dummy verifications, hashing a new
 * password in the admin API) goes through one HashSlots limiter, so a login storm or a bulk
 * user import cannot take every core from the event loop. When its waiting line is full (or
 * the client has its share in), every method throws HashQueueFull (a 429) at once instead of
 * queueing.
 */
@Injectable()
export class PasswordsService {
  private readonly log = new Logger(PasswordsService.name);
  /** The one limiter every argon2id computation goes through (readable for gauges and tests). */
  readonly slots = new HashSlots();

  /** The PHC string to store ($argon2id$v=19$m=19456,t=2,p=1$...). */
  hash(password: string): Promise<string> {
    return this.slots.run(() => hashPassword(password));
  }

  /**
   * True when `password` matches `passwordHash`; false (never a throw) otherwise. `client`
   * (a login's IP and account) gets its fair share of the hash slots (HashSlots).
   */
  verify(passwordHash: string, password: string, client?: HashClient): Promise<boolean> {
    return this.slots.run(async () => {
      try {
        return await verify(passwordHash, normalise(password));
      } catch (e) {
        // A stored hash that does not parse: log that it happened (not the hash), refuse.
        this.log.error(`stored password hash could not be verified: ${(e as Error).message}`);
        return false;
      }
    }, client);
  }

  /** Spends the time of one verification and returns false: for logins of unknown users. */
  verifyDummy(password: string, client?: HashClient): Promise<false> {
    return this.slots.run(async () => {
      await verify(DUMMY_HASH, normalise(password)).catch(() => false);
      return false as const;
    }, client);
  }
}

/**
 * NIST SP 800-63B §5.1.1.2: passwords are Unicode-normalised (NFKC) before hashing, so
 * the same password typed on another keyboard or OS still matches.
 */
function normalise(password: string): string {
  return password.normalize('NFKC');
}
