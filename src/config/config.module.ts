import { Global, Inject, Module } from '@nestjs/common';
import { AppConfig, loadConfig } from './configuration';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injects the validated, typed configuration (see configuration.ts). */
export const InjectConfig = () => Inject(APP_CONFIG);

/**
 * Global, validated configuration. Evaluated when the application is created, so a bad
 * variable stops the boot with a message that names it.
 */
@Global()
@Module({
  providers: [{ provide: APP_CONFIG, useFactory: (): AppConfig => loadConfig() }],
  exports: [APP_CONFIG],
})
export class AppConfigModule {}
