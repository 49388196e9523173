import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CreateTenantDto, UpdateTenantDto } from './tenant.dto';

/** The messages class-validator gives for `body`, by property (nested ones flattened). */
function problems(cls: typeof CreateTenantDto | typeof UpdateTenantDto, body: object): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (errors: ReturnType<typeof validateSync>, prefix: string) => {
    for (const e of errors) {
      const key = prefix + e.property;
      if (e.constraints) out[key] = Object.values(e.constraints).sort();
      walk(e.children ?? [], `${key}.`);
    }
  };
  walk(validateSync(plainToInstance(cls, body), { whitelist: true }), '');
  return out;
}

describe('tenant DTOs: creating and updating check a field alike', () => {
  const valid = { slug: 'acme', name: 'Acme' };
  it.each([
    ['name', { name: '   ' }],
    ['name', { name: 'x'.repeat(201) }],
    ['name', { name: 42 }],
    ['attributes', { attributes: { nested: { no: 1 } } }],
    ['attributes', { attributes: null }],
    ['disabled', { disabled: 'yes' }],
    ['logoutLandingUrl', { logoutLandingUrl: 'javascript:alert(1)' }],
    ['logoutLandingUrl', { logoutLandingUrl: `https://x.example/${'a'.repeat(2100)}` }],
    ['branding', { branding: 'blue' }],
    ['branding', { branding: null }],
  ])('%s, case %#', (field, bad) => {
    const created = problems(CreateTenantDto, { ...valid, ...bad });
    const updated = problems(UpdateTenantDto, bad);
    expect(Object.keys(created).filter((k) => k.startsWith(field))).not.toEqual([]);
    expect(Object.fromEntries(Object.entries(updated).filter(([k]) => k.startsWith(field)))).toEqual(
      Object.fromEntries(Object.entries(created).filter(([k]) => k.startsWith(field))),
    );
  });

  it('accepts what either accepts: a trimmed name, null clearing the landing URL', () => {
    expect(problems(CreateTenantDto, { ...valid, name: ' Acme ', logoutLandingUrl: null })).toEqual({});
    expect(problems(UpdateTenantDto, { name: ' Acme ', logoutLandingUrl: null })).toEqual({});
  });
});
