import fc from 'fast-check';
import { DomainError } from '../../common/errors';
import { embedUrl, looker } from './looker';

const link = looker.token!.link!;
const target = { id: '0b5c1a52-7d1e-4c43-9a7e-2f7d3c1e9a10', slug: 'lk', baseUrl: 'https://acme.cloud.looker.com', settings: { models: ['thelook'], permissions: ['access_data'], allowedOrigins: ['https://app.example.com'] } };

describe('Looker paths and embed parameters', () => {
  it.each(['dashboards/7', 'dashboards/thelook::business_pulse', 'looks/3', 'explore/thelook/orders'])('embeds %s', (path) => {
    expect(link.path.test(path)).toBe(true);
  });

  it.each(['', 'dashboards', 'dashboards/0', 'dashboards/7/edit', 'dashboards/../admin', 'looks/abc', 'explore/thelook', 'explore/the look/orders', 'admin/users', 'browse', 'dashboards/7?x=1', 'dashboards-next/7'])('refuses %j', (path) => {
    expect(link.path.test(path)).toBe(false);
  });

  it('passes on embed_domain only when it is an allowed origin, and sdk/theme by their forms', () => {
    expect(link.options!(target, { embed_domain: 'https://app.example.com', sdk: '3' }, 'dashboards/7')).toEqual({ embed_domain: 'https://app.example.com', sdk: '3' });
    expect(link.options!(target, { src: '/embed/dashboards/7?embed_domain=https://app.example.com&sdk=3&theme=Dark_1' }, 'dashboards/7')).toEqual({ embed_domain: 'https://app.example.com', sdk: '3', theme: 'Dark_1' });
    expect(link.options!(target, {}, 'dashboards/7')).toEqual({});
    expect(() => link.options!(target, { embed_domain: 'https://app.example.com.evil.example' }, 'dashboards/7')).toThrow(/not one of this target's allowed origins/);
    expect(() => link.options!({ ...target, settings: { ...target.settings, allowedOrigins: undefined } }, { embed_domain: 'https://app.example.com' }, 'dashboards/7')).toThrow(DomainError);
    expect(embedUrl('dashboards/7', { embed_domain: 'https://app.example.com', sdk: '3' })).toBe('/embed/dashboards/7?embed_domain=https://app.example.com&sdk=3');
  });

  it('any query: passed-on values only of the known forms, or a 400 — never another error', () => {
    const value = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant('https://app.example.com'), fc.constant('/embed/dashboards/7?embed_domain=https://app.example.com'));
    const key = fc.oneof(fc.constantFrom('src', 'embed_domain', 'sdk', 'theme', 'response', '__proto__', 'constructor'), fc.string());
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (query) => {
        try {
          const out = link.options!(target, query, 'dashboards/7');
          for (const [k, v] of Object.entries(out)) {
            if (k === 'embed_domain') expect(v).toBe('https://app.example.com');
            else if (k === 'sdk') expect(v).toMatch(/^[0-9]{1,3}$/);
            else if (k === 'theme') expect(v).toMatch(/^[A-Za-z0-9_]{1,100}$/);
            else throw new Error(`passed on ${k}`);
          }
        } catch (e) {
          if (!(e instanceof DomainError) || e.status !== 400) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
