import { Logger, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { configToken } from '../config/config.module';
import { Config } from '../config/configuration';
import { SecretBox } from './secret-box';
import { ROTATION_HOWTO, verifySecretsKey } from './secrets-check';

/**
 * The SecretBox exists only once SECRETS_KEY was checked against the database's check value
 * (secrets-check.ts): a wrong key stops the start here, naming SECRETS_KEY, instead of
 * failing as a 500 at the first SSO.
 */
@Module({
  providers: [
    {
      provide: SecretBox,
      inject: [configToken('secrets'), DataSource],
      useFactory: async (secrets: Config<'secrets'>, ds: DataSource) => {
        const box = new SecretBox(secrets.key, secrets.previousKey);
        const state = await verifySecretsKey(ds, box);
        const log = new Logger('SecretsKey');
        if (state === 'previous') {
          log.warn(`SECRETS_KEY_PREVIOUS opened the stored secrets: a rotation is under way. ${ROTATION_HOWTO}`);
        } else if (secrets.previousKey) {
          log.log('SECRETS_KEY opens the stored secrets; SECRETS_KEY_PREVIOUS is accepted for values not yet re-sealed');
        } else {
          log.log(state === 'created' ? 'SECRETS_KEY check value stored' : 'SECRETS_KEY matches the stored check value');
        }
        return box;
      },
    },
  ],
  exports: [SecretBox],
})
export class CryptoModule {}
