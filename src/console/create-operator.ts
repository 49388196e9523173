import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as readline from 'node:readline';
import { Writable } from 'node:stream';
import { AuditModule } from '../audit/audit.module';
import { DomainError } from '../common/errors';
import { isEmailAddress, normaliseEmail } from '../common/identifiers';
import { AppConfigModule } from '../config/config.module';
import { ConfigError, loadConfig } from '../config/configuration';
import { CryptoModule } from '../crypto/crypto.module';
import { DatabaseModule } from '../database/database.module';
import { IdentitiesModule } from '../identities/identities.module';
import { AccessIdentitySources } from '../catalog/access-identity-sources';
import { TenantsModule } from '../tenants/tenants.module';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../users/passwords.service';
import { UsersModule } from '../users/users.module';
import { OperatorsService } from './operators.service';

/**
 * `npm run create-operator`: asks for an email and a password (twice, never echoed) and adds
 * a platform operator. Only the modules it needs: not the whole app, whose start-up hooks
 * (e.g. the bootstrap API key's rotation) belong to the running service.
 */
@Module({
  imports: [AppConfigModule, CryptoModule, DatabaseModule, AuditModule, TenantsModule, UsersModule, IdentitiesModule],
  // AccessIdentitySources: creating a user claims its email on the instances its tenant uses.
  providers: [OperatorsService, AccessIdentitySources],
})
class CreateOperatorModule {}

async function main(): Promise<number> {
  loadConfig();
  // Output goes through a gate: while a password is typed nothing is echoed (on a terminal
  // readline echoes each key; piped input is never echoed at all).
  let muted = false;
  const out = new Writable({
    write(chunk, enc, cb) {
      if (!muted) process.stdout.write(chunk, enc);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output: out, terminal: Boolean(process.stdin.isTTY) });
  // The iterator buffers lines: piped input that arrives before a question is not lost.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (question: string, secret = false): Promise<string> => {
    process.stdout.write(question);
    muted = secret;
    const next = await lines.next();
    muted = false;
    if (secret || !process.stdin.isTTY) process.stdout.write('\n');
    if (next.done) throw new Error('input ended');
    return String(next.value);
  };
  try {
    const email = normaliseEmail(await ask('Operator email: '));
    if (!isEmailAddress(email)) {
      console.error('That is not an email address.');
      return 1;
    }
    const password = await ask(`Password (${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters): `, true);
    if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
      console.error(`The password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long.`);
      return 1;
    }
    if ((await ask('Repeat the password: ', true)) !== password) {
      console.error('The passwords differ.');
      return 1;
    }
    rl.close();
    const app = await NestFactory.createApplicationContext(CreateOperatorModule, { logger: ['error'] });
    try {
      await app.get(OperatorsService).createOperator({ actor: 'cli:create-operator', ip: null, requestId: null }, email, password);
    } catch (e) {
      if (e instanceof DomainError && e.status < 500) {
        console.error(e.message);
        return 1;
      }
      throw e;
    } finally {
      await app.close();
    }
    console.log(`Operator ${email} created. Sign in at /login with organization "operators".`);
    return 0;
  } finally {
    rl.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? err.message : `create-operator failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
