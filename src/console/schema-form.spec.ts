import { productSchemas } from './product-schemas';
import { fieldNames, renderSchemaFields, settingsFromForm, valuesFromSettings } from './schema-form';

describe('schema forms', () => {
  const metabase = productSchemas().find((p) => p.kind === 'metabase')!;

  it('turns stored settings into fields and the submitted fields back into the same settings', () => {
    const settings = { emailClaim: 'mail', tokenTtlSeconds: 300, tenantsEnabled: true, allowedOrigins: ['https://a.example', 'https://b.example'] };
    const values = valuesFromSettings(metabase.settingsSchema, 'settings', settings);
    expect(values).toEqual({
      'settings.emailClaim': 'mail',
      'settings.tokenTtlSeconds': '300',
      'settings.tenantsEnabled': 'true',
      'settings.allowedOrigins': 'https://a.example\nhttps://b.example',
    });
    expect(settingsFromForm(metabase.settingsSchema, 'settings', values)).toEqual({ settings, problems: {} });
  });

  it('leaves empty fields out (the product default applies) and passes a non-number on for the product to refuse', () => {
    const { settings } = settingsFromForm(metabase.settingsSchema, 'settings', { 'settings.emailClaim': '  ', 'settings.tokenTtlSeconds': 'soon' });
    expect(settings).toEqual({ tokenTtlSeconds: 'soon' });
  });

  it('an emptied allow-list whose absence would allow everything is kept as an empty list (none), never dropped', () => {
    const dbx = productSchemas().find((p) => p.kind === 'databricks')!;
    const stored = { externalValueAttribute: 'customer', dashboards: [] };
    const values = valuesFromSettings(dbx.accessSettingsSchema, 'settings', stored);
    expect(settingsFromForm(dbx.accessSettingsSchema, 'settings', values).settings).toEqual(stored);
    // A list whose absence allows nothing may simply be left out.
    expect(settingsFromForm(metabase.accessSettingsSchema, 'settings', { 'settings.embeddableDashboards': '' }).settings).toEqual({});
  });

  it('offers a setting with a fixed set of values as a choice (the stored one selected, or the default)', () => {
    const grafana = productSchemas().find((p) => p.kind === 'grafana')!;
    const alg = (values: Record<string, unknown>) => {
      const page = String(renderSchemaFields(grafana.settingsSchema, 'settings', 'target', { values, errors: {} }));
      return /<select id="target-settings_alg" name="settings.alg"[^>]*>([\s\S]*?)<\/select>/.exec(page)?.[1];
    };
    const options = alg({ 'settings.alg': 'ES256' })!;
    expect(options.match(/<option[^>]*>/g)).toEqual(['<option value="">', '<option value="RS256">', '<option value="ES256" selected>']);
    expect(alg({})).toContain('<option value="" selected>');
    // Posted back as typed, as any other text setting; the default choice leaves it out.
    expect(settingsFromForm(grafana.settingsSchema, 'settings', { 'settings.alg': 'ES256' }).settings).toMatchObject({ alg: 'ES256' });
    expect(settingsFromForm(grafana.settingsSchema, 'settings', { 'settings.alg': '' }).settings.alg).toBeUndefined();
  });

  it('reads nested objects and name = value maps, and names a malformed map line', () => {
    const s = metabase.accessSettingsSchema;
    expect(fieldNames(s, 'settings')).toContain('settings.sharedAccount.email');
    const out = settingsFromForm(s, 'settings', {
      'settings.sharedAccount.email': 'client@acme.example',
      'settings.lockedParams': 'customer_id = customerId\nregion=region\n',
    });
    expect(out).toEqual({ settings: { sharedAccount: { email: 'client@acme.example' }, lockedParams: { customer_id: 'customerId', region: 'region' } }, problems: {} });
    expect(settingsFromForm(s, 'settings', { 'settings.lockedParams': 'no equals sign' }).problems).toEqual({
      'settings.lockedParams': 'Each line must be "name = value" (not "no equals sign")',
    });
  });
});
