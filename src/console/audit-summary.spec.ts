import { actorIds, actorName, AuditNames, summarize } from './audit-summary';
import { lineChart } from './chart';

const names: AuditNames = {
  users: new Map([['11111111-1111-4111-8111-111111111111', 'ada@acme.test']]),
  apiKeys: new Map([['22222222-2222-4222-8222-222222222222', 'deploy bot']]),
  targets: new Map([['mb', 'Metabase target mb']]),
};
const ADA = 'user:11111111-1111-4111-8111-111111111111';

describe('audit summary', () => {
  it('collects the ids to resolve once per kind, each once', () => {
    expect(actorIds([ADA, ADA, 'apikey:22222222-2222-4222-8222-222222222222', 'system', 'anonymous', 'handoff:acme'])).toEqual({
      users: ['11111111-1111-4111-8111-111111111111'],
      apiKeys: ['22222222-2222-4222-8222-222222222222'],
    });
  });

  it('names actors: email, API key name, system, a deleted one by its id\'s start', () => {
    expect(actorName(ADA, names)).toBe('ada@acme.test');
    expect(actorName('apikey:22222222-2222-4222-8222-222222222222', names)).toBe('API key “deploy bot”');
    expect(actorName('system', names)).toBe('system');
    expect(actorName('user:33333333-3333-4333-8333-333333333333', names)).toBe('deleted user 33333333…');
    expect(actorName('handoff:acme', names)).toBe('hand-off from acme');
  });

  it.each([
    [{ type: 'sso.token_issued', actor: ADA, details: { target: 'mb' } }, 'ada@acme.test signed in to Metabase target mb'],
    [{ type: 'sso.denied', actor: ADA, details: { target: 'mb', reason: 'no_access' } }, 'refused (SSO): no access — ada@acme.test, Metabase target mb'],
    [{ type: 'login.failure', actor: 'anonymous', details: { reason: 'bad_password', email: 'bob@acme.test' } }, 'refused (sign-in): wrong password — bob@acme.test'],
    [{ type: 'handoff.replay', actor: 'anonymous', details: {} }, 'refused (hand-off assertion replayed): assertion already used'],
    [{ type: 'tenant.created', actor: 'system', details: { slug: 'acme', name: 'Acme' } }, 'system: tenant created — Acme'],
    [{ type: 'some.future_type', actor: 'system', details: {} }, 'system: some.future_type'],
  ])('one line for %j', (event, line) => {
    expect(summarize(event, names)).toBe(line);
  });
});

describe('activity chart on a phone', () => {
  it('draws a narrow copy whose text stays at least 11 px at 390 px wide, with fewer ticks', () => {
    const hours = Array.from({ length: 24 }, (_, i) => new Date(Date.UTC(2026, 0, 1, i)));
    const out = lineChart('a', 'Activity', hours, [{ name: 'Sign-ins', values: new Array(24).fill(1) }]).toString();
    const narrow = /<svg class="narrow" viewBox="0 0 (\d+) \d+"[\s\S]*?<\/svg>/.exec(out)!;
    // A 390 px screen leaves about 320 px for the card's content.
    const scale = 320 / Number(narrow[1]);
    const sizes = [...narrow[0].matchAll(/font-size="(\d+)"/g)].map((m) => Number(m[1]) * scale);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(11);
    expect([...narrow[0].matchAll(/>\d\d:00</g)].length).toBeLessThanOrEqual(4);
  });
});
