import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  IsEmailAddress,
  isEmailAddress,
  IsSlug,
  isSlug,
  IsTenantRef,
  isUuid,
  MAX_EMAIL_LENGTH,
  normaliseEmail,
  NotUuidShaped,
  slugCheck,
  Trim,
  TrimLower,
} from './identifiers';

const UUID_V4 = '0b6f2c1e-7a3d-4e55-9c1a-2f3e4d5c6b7a';

describe('slugs', () => {
  it.each([
    ['acme', true],
    ['a', true],
    ['0', true],
    ['acme-eu-2', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['-acme', false],
    ['Acme', false],
    ['acme_eu', false],
    ['ac me', false],
    ['acme\n', false],
    ['', false],
    [42, false],
    [undefined, false],
  ])('isSlug(%j) = %j', (value, expected) => {
    expect(isSlug(value)).toBe(expected);
  });

  it('gives the CHECK constraint the same pattern', () => {
    expect(slugCheck('slug')).toBe(`slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'`);
  });
});

describe('UUIDs', () => {
  it.each([
    [UUID_V4, true],
    [UUID_V4.toUpperCase(), true],
    ['00000000-0000-0000-0000-000000000000', true],
    [UUID_V4.slice(1), false],
    [`${UUID_V4}x`, false],
    ['acme', false],
    [null, false],
  ])('isUuid(%j) = %j', (value, expected) => {
    expect(isUuid(value)).toBe(expected);
  });
});

describe('email addresses', () => {
  it.each([
    ['ada@example.com', true],
    ['ada.lovelace+bi@eu.acme.example', true],
    ['Ada@Example.com', true],
    ['no-at-sign', false],
    ['ada@localhost', false],
    ['ada@@example.com', false],
    ['ada @example.com', false],
    ['ada@example.com ', false],
    ['<ada>@example.com', false],
    [`${'x'.repeat(65)}@example.com`, false],
    [`x@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(MAX_EMAIL_LENGTH - 180)}.com`, false],
    ['', false],
    [42, false],
  ])('isEmailAddress(%j) = %j', (value, expected) => {
    expect(isEmailAddress(value)).toBe(expected);
  });

  it('normalises for storage and lookup: trimmed, lower-cased', () => {
    expect(normaliseEmail('  Ada@Example.COM ')).toBe('ada@example.com');
  });
});

class Body {
  @Trim() name?: unknown;
  @Trim({ each: true }) groups?: unknown;
  @TrimLower() @IsEmailAddress() email?: unknown;
  @IsSlug() @NotUuidShaped() slug?: unknown;
  @IsTenantRef() tenantId?: unknown;
}

function check(plain: Record<string, unknown>): { body: Body; failed: string[] } {
  const body = plainToInstance(Body, plain);
  const failed = validateSync(body, { skipMissingProperties: true }).map((e) => e.property);
  return { body, failed };
}

describe('decorators', () => {
  it('trim strings (and each string of an array), and leave other values to the validators', () => {
    expect(check({ name: '  Acme  ', groups: [' a ', 3] }).body).toMatchObject({ name: 'Acme', groups: ['a', 3] });
    expect(check({ name: 42 }).body.name).toBe(42);
  });

  it.each([
    [{ email: ' Ada@Example.com ' }, []],
    [{ email: 'ada@localhost' }, ['email']],
    [{ slug: 'acme' }, []],
    [{ slug: UUID_V4 }, ['slug']],
    [{ slug: 'Acme' }, ['slug']],
    [{ tenantId: UUID_V4 }, []],
    [{ tenantId: 'acme' }, []],
    [{ tenantId: 'ACME' }, []],
    [{ tenantId: 'acme corp' }, ['tenantId']],
    [{ tenantId: 7 }, ['tenantId']],
  ])('%j fails on %j', (plain, failed) => {
    expect(check(plain).failed).toEqual(failed);
  });
});
