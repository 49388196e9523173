import type { InboundSourceFolder } from '../inbound-source';
import { PasswordSignInSource } from './password.source';

/** The password form's place among the sign-in sources (the form is src/auth/login's). */
export const password: InboundSourceFolder = {
  name: 'password',
  providers: [PasswordSignInSource],
  controllers: [],
  signIn: PasswordSignInSource,
};
