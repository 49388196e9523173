import { Injectable } from '@nestjs/common';
import { basePathOf } from '../../common/redirects';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import type { SignInSource } from '../inbound-source';

/**
 * Our own password form as a sign-in source: home-realm discovery's last resort, so an email
 * no identity provider takes goes to the login page's form (pre-filled, `next` kept). The form
 * itself — the password, lockout, two-step verification, a tenant's passwords-off setting —
 * is the login page's (src/auth/login): it sits below this layer because the operators sign
 * in to the console with it, whatever sources a tenant has.
 */
@Injectable()
export class PasswordSignInSource implements SignInSource {
  readonly source = 'password';
  private readonly basePath: string;

  constructor(@InjectConfig('app') app: Config<'app'>) {
    this.basePath = basePathOf(app.publicUrl);
  }

  async hasProvider(): Promise<boolean> {
    return false;
  }

  async begin(who: { email: string; next: string | null }): Promise<string> {
    return `${this.basePath}/login?${new URLSearchParams({ email: who.email, ...(who.next ? { next: who.next } : {}) })}`;
  }

  async endSession(): Promise<null> {
    return null;
  }
}
