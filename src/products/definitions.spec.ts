import { isKeyPairSigning, keyPairSigningOf } from './product-definition';
import { parseAccessSettings, parseTargetSettings, TARGET_DEFINITIONS, TARGET_KINDS, targetDefinition } from '.';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowListPermits, PropertySchema } from './settings-schema';

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
    for (const signing of [def.sso?.signing, def.embed?.signing]) {
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
      logoutUrl: !!def.logoutUrl,
    });
    expect(Object.values(def.capabilities).some(Boolean)).toBe(true);
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
