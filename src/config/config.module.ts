import { Global, Inject, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, loadConfig } from './configuration';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injects the validated, typed configuration (see configuration.ts). */
export const InjectConfig = () => Inject(APP_CONFIG);

/**
 * Global, validated configuration. @nestjs/config loads it (ignoring .env files: only the
 * environment counts) when the application is created, so a bad variable stops the boot with
 * a message that names it. The namespaces (app, database, secrets, session, lockout, tokens)
 * are available from ConfigService too; services inject the whole typed object as APP_CONFIG.
 */
@Global()
@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => loadConfig({ interactive: process.stdout.isTTY === true })] })],
  providers: [
    {
      provide: APP_CONFIG,
      inject: [ConfigService],
      useFactory: (c: ConfigService<AppConfig, true>): AppConfig => ({
        app: c.get('app', { infer: true }),
        database: c.get('database', { infer: true }),
        secrets: c.get('secrets', { infer: true }),
        session: c.get('session', { infer: true }),
        lockout: c.get('lockout', { infer: true }),
        tokens: c.get('tokens', { infer: true }),
        metrics: c.get('metrics', { infer: true }),
      }),
    },
  ],
  exports: [APP_CONFIG],
})
export class AppConfigModule {}
