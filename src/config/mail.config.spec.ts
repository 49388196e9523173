import { EnvReader } from './env';
import { parseMail } from './mail.config';

const parse = (env: Record<string, string>, nodeEnv: 'production' | 'development' = 'development') => {
  const read = new EnvReader(env);
  return { mail: parseMail(read, nodeEnv, 'https://idp.example.com'), problems: read.problems };
};

describe('parseMail', () => {
  it('sends through SMTP_URL when set, keeps an outbox without it outside production, and is off in production without it', () => {
    expect(parse({ SMTP_URL: 'smtp://u:p@mail.example.com:587' }).mail).toMatchObject({ mode: 'smtp', smtpUrl: 'smtp://u:p@mail.example.com:587' });
    expect(parse({}).mail.mode).toBe('outbox');
    expect(parse({}, 'production').mail.mode).toBe('off');
  });

  it('defaults MAIL_FROM to no-reply at PUBLIC_URL’s host', () => {
    expect(parse({}).mail.from).toBe('embed-idp <no-reply@idp.example.com>');
    expect(parse({ MAIL_FROM: 'Acme <signin@acme.example>' }).mail.from).toBe('Acme <signin@acme.example>');
  });

  it('refuses a URL that is not smtp(s) without echoing it (it may hold a password)', () => {
    const { problems } = parse({ SMTP_URL: 'http://user:hunter2@mail.example.com' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SMTP_URL: must be smtp:/);
    expect(problems[0]).not.toContain('hunter2');
  });

  it.each(['not an address', 'a@b.c\r\nBcc: x@y.z', 'Name <a@b.c'])('refuses MAIL_FROM %j', (from) => {
    expect(parse({ MAIL_FROM: from }).problems[0]).toMatch(/^MAIL_FROM:/);
  });
});
