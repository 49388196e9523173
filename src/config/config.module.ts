import { Global, Inject, Module, Provider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, CONFIG_NAMESPACES, ConfigNamespace, loadConfig } from './configuration';

/**
 * The whole configuration. Not exported from the module, so no service can inject it: only
 * main.ts reads it (`app.get(APP_CONFIG)`) for the port, the shutdown grace and the start-up
 * summary. Everything else injects the namespaces it uses (config-injection.spec.ts checks).
 */
export const APP_CONFIG = Symbol('APP_CONFIG');

const TOKENS = new Map(CONFIG_NAMESPACES.map((n) => [n, Symbol(`config.${n}`)] as const));

/** The injection token of one namespace, for factory providers (`inject: [configToken('app')]`) and app.get. */
export function configToken(namespace: ConfigNamespace): symbol {
  return TOKENS.get(namespace)!;
}

/** Injects one validated, typed namespace: `@InjectConfig('session') session: Config<'session'>`. */
export const InjectConfig = (namespace: ConfigNamespace) => Inject(configToken(namespace));

/**
 * Global, validated configuration. @nestjs/config loads it (ignoring .env files: only the
 * environment counts) when the application is created, so a bad variable stops the boot with
 * a message that names it. All namespaces are parsed together (configuration.ts) so every bad
 * variable is reported at once; each is then provided under its own token.
 */
@Global()
@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => loadConfig({ interactive: process.stdout.isTTY === true })] })],
  providers: [
    {
      provide: APP_CONFIG,
      inject: [ConfigService],
      useFactory: (c: ConfigService<AppConfig, true>): AppConfig =>
        Object.fromEntries(CONFIG_NAMESPACES.map((n) => [n, c.get(n, { infer: true })])) as unknown as AppConfig,
    },
    ...CONFIG_NAMESPACES.map((n): Provider => ({ provide: configToken(n), inject: [APP_CONFIG], useFactory: (c: AppConfig) => c[n] })),
  ],
  exports: CONFIG_NAMESPACES.map(configToken),
})
export class AppConfigModule {}
