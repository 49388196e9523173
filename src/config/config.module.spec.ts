import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfigModule, configToken, InjectConfig } from './config.module';
import { Config, CONFIG_NAMESPACES } from './configuration';

@Injectable()
class SessionReader {
  constructor(
    @InjectConfig('session') readonly session: Config<'session'>,
    @InjectConfig('lockout') readonly lockout: Config<'lockout'>,
  ) {}
}

@Injectable()
class AppReader {
  constructor(@InjectConfig('app') readonly app: Config<'app'>) {}
}

@Injectable()
class WholeConfigReader {
  constructor(@Inject(APP_CONFIG) readonly all: unknown) {}
}

describe('AppConfigModule', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    // A given SECRETS_KEY: nothing is written under DATA_DIR.
    process.env = { NODE_ENV: 'test', SECRETS_KEY: randomBytes(32).toString('hex'), SESSION_IDLE_TIMEOUT: '600', LOGIN_LOCKOUT_THRESHOLD: '7' };
  });
  afterEach(() => {
    process.env = saved;
  });

  it('hands each class only the namespaces it asks for', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppConfigModule], providers: [SessionReader] }).compile();
    const reader = moduleRef.get(SessionReader);
    expect(reader.session).toEqual({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 12 * 3600 });
    expect(reader.lockout.threshold).toBe(7);
    // Every namespace has its token, and each is the same object as in the whole view.
    const whole = moduleRef.get(APP_CONFIG, { strict: false });
    for (const n of CONFIG_NAMESPACES) expect(moduleRef.get(configToken(n))).toBe(whole[n]);
    await moduleRef.close();
  });

  it('exports the namespaces to every module, but not the whole config (APP_CONFIG)', async () => {
    @Module({ providers: [AppReader] })
    class NamespaceConsumer {}
    const moduleRef = await Test.createTestingModule({ imports: [AppConfigModule, NamespaceConsumer] }).compile();
    expect(moduleRef.get(AppReader, { strict: false }).app.nodeEnv).toBe('test');
    await moduleRef.close();

    @Module({ providers: [WholeConfigReader] })
    class WholeConsumer {}
    await expect(Test.createTestingModule({ imports: [AppConfigModule, WholeConsumer] }).compile()).rejects.toThrow(
      /can't resolve dependencies of the WholeConfigReader/,
    );
  });
});
