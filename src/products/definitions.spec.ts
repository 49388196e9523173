import { isKeyPairSigning, keyPairSigningOf } from './product-definition';
import { parseAccessSettings, parseTargetSettings, productErrorCopy, TARGET_DEFINITIONS, TARGET_KINDS, targetDefinition } from '.';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowListPermits, PropertySchema } from './settings-schema';
import { errorPage } from '../common/error-pages';

/**
 * Every product definition, whatever products exist: the schemas follow the contract the
 * admin API, the OpenAPI description and the operator console read; the examples cover every
 * setting and round-trip through the one validator; capabilities say what is implemented.
 */
const FORM_TYPES = ['string', 'integer', 'boolean', 'array'];

describe.each(TARGET_DEFINITIONS.map((d) => [d.kind, d] as const))('target definition %s', (_kind, def) => {
  it('is found by its kind, with a label', () => {
    expect(targetDefinition(def.kind)).toBe(def);
    expect(def.kind).toMatch(/^[a-z][a-z0-9-]{1,19}$/); // targets.kind is varchar(20)
    expect(def.label.length).toBeGreaterThan(0);
  });

  it.each(['settingsSchema', 'accessSettingsSchema'] as const)('%s is a closed JSON-Schema object of form fields', (which) => {
    const schema = def[which];
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    for (const key of schema.required ?? []) expect(Object.keys(schema.properties)).toContain(key);
    const check = (p: PropertySchema) => {
      if (p.type === 'object') {
        // The structured access settings (a nested account, a map): values are strings.
        expect(p.properties || p.additionalProperties).toBeTruthy();
        return;
      }
      expect(FORM_TYPES).toContain(p.type);
      if (p.type === 'array') expect(p.items.type).toBe('string');
      if (p.type === 'string' && p.pattern) expect(() => new RegExp(p.pattern!)).not.toThrow();
    };
    Object.values(schema.properties).forEach(check);
  });

  it('round-trips its example settings and access settings, which cover every property', () => {
    expect(Object.keys(def.examples.settings).sort()).toEqual(Object.keys(def.settingsSchema.properties).sort());
    expect(Object.keys(def.examples.accessSettings).sort()).toEqual(Object.keys(def.accessSettingsSchema.properties).sort());
    expect(parseTargetSettings(def, def.examples.settings)).toEqual({ settings: def.examples.settings, problems: [] });
    expect(parseAccessSettings(def, def.examples.accessSettings)).toEqual({ settings: def.examples.accessSettings, problems: [] });
  });

  it('refuses unknown keys and wrong types, naming the key', () => {
    expect(parseTargetSettings(def, { noSuchSetting: 1 }).problems).toContain('settings.noSuchSetting is not a known setting');
    expect(parseAccessSettings(def, { noSuchSetting: 1 }).problems).toContain('settings.noSuchSetting is not a known setting');
    for (const [key, prop] of Object.entries(def.settingsSchema.properties)) {
      const wrong = prop.type === 'string' ? 42 : 'not-the-type';
      expect(parseTargetSettings(def, { ...def.examples.settings, [key]: wrong }).problems.join('\n')).toMatch(new RegExp(`settings\\.${key}\\b`));
    }
  });

  it('treats every list setting as an allow-list where empty allows nothing', () => {
    for (const schema of [def.settingsSchema, def.accessSettingsSchema]) {
      for (const prop of Object.values(schema.properties)) {
        if (prop.type !== 'array') continue;
        expect(['none', 'all']).toContain(prop['x-allow-list'].unset);
        expect(allowListPermits(prop, [], 'anything')).toBe(false);
        expect(allowListPermits(prop, 'anything', 'anything')).toBe(false);
        expect(allowListPermits(prop, ['anything'], 'anything')).toBe(true);
      }
    }
  });

  it('names its secrets, each with a minimum length', () => {
    // A product signing with key pairs we generate may need no secret at all.
    if (!keyPairSigningOf(def)) expect(def.secrets.length).toBeGreaterThan(0);
    for (const s of def.secrets) {
      expect(s.name).toMatch(/^[a-z][A-Za-z0-9]{0,40}$/);
      expect(s.description.length).toBeGreaterThan(0);
      expect(s.minLength).toBeGreaterThanOrEqual(16);
    }
    // Every secret a capability signs with is one the product declares.
    for (const signing of [def.sso?.signing, def.embed?.signing, def.token?.signing]) {
      if (signing && !isKeyPairSigning(signing)) expect(def.secrets.map((s) => s.name)).toContain(signing.secret);
    }
  });

  it('declares capabilities that match what it implements', () => {
    expect(def.capabilities).toEqual({
      ssoRedirect: !!def.sso?.redirect,
      ssoJson: !!def.sso?.json,
      signedEmbed: !!def.embed,
      guestEmbed: !!def.embed?.guest,
      tokenBroker: !!def.broker,
      jsonToken: !!def.token?.json,
      tokenLink: !!def.token?.link,
      logoutUrl: !!def.logoutUrl,
      demo: !!def.demo,
    });
    expect(Object.values(def.capabilities).some(Boolean)).toBe(true);
  });

  it('has a setup guide naming where to type what, without a secret', () => {
    const target = { slug: 'bi', baseUrl: def.examples.baseUrl, settings: def.examples.settings };
    const guide = def.setupGuide!(target, 'https://idp.example.com', ['Analysts']);
    expect(guide.where.length).toBeGreaterThan(0);
    expect(guide.items.length).toBeGreaterThan(0);
    for (const i of guide.items) expect(i.value !== undefined || i.note !== undefined).toBe(true);
  });

  it('words its own error codes for people (a title without codes, a sentence)', () => {
    for (const copy of Object.values(def.errorCopy ?? {})) {
      expect(copy.title).not.toMatch(/_|\d{3}|error/i);
      expect(copy.sentence).toMatch(/^[A-Z].{20,}\.$/);
    }
  });

  it('serves every demo script it names, and its page script is one of them', () => {
    if (!def.demo) return;
    expect(Object.keys(def.demo.assets)).toContain(def.demo.script);
    for (const read of Object.values(def.demo.assets)) expect(read().length).toBeGreaterThan(0);
  });
});

describe('product error copy', () => {
  it('gathers every product\'s words, and refuses one code worded two ways', () => {
    expect(productErrorCopy()).toMatchObject({ locked_param_missing: { title: 'Not set up yet' } });
    const page = (productCopy?: Record<string, never> | ReturnType<typeof productErrorCopy>) =>
      errorPage({ status: 400, code: 'locked_param_missing', requestId: 'r', basePath: '', tenant: null, retryPath: null, productCopy }).html;
    expect(page(productErrorCopy())).toContain('<title>Not set up yet</title>');
    expect(page()).toContain('<title>That did not work</title>');
    const a = { ...TARGET_DEFINITIONS[0], kind: 'a', errorCopy: { x_y: { title: 'A', sentence: 'One.', way: 'start' as const } } };
    const b = { ...TARGET_DEFINITIONS[0], kind: 'b', errorCopy: { x_y: { title: 'B', sentence: 'Two.', way: 'start' as const } } };
    expect(() => productErrorCopy([a, b])).toThrow('error code x_y has different words in a and b');
  });
});

describe('product files', () => {
  // `list?.length && !list.includes(x)` lets everything through when the list is empty: the
  // product files read their lists through allowListPermits instead.
  it('never read a list setting as "empty means everything"', () => {
    for (const d of TARGET_DEFINITIONS) {
      const source = readFileSync(join(__dirname, d.kind, `${d.kind}.ts`), 'utf8');
      expect(source).not.toMatch(/\.length\s*&&\s*!/);
      expect(source).not.toMatch(/\.length\s*\?/);
    }
  });
});

describe('the kind list', () => {
  it('is derived from the definitions, without duplicates', () => {
    expect(TARGET_KINDS).toEqual(TARGET_DEFINITIONS.map((d) => d.kind));
    expect(new Set(TARGET_KINDS).size).toBe(TARGET_KINDS.length);
    expect(targetDefinition('no-such-product')).toBeUndefined();
  });
});
