import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate } from 'class-validator';
import { personMessage, problemsOf, validationException } from './validation-messages';

/**
 * Every message a validation failure can show a person (admin API answers, console forms) is
 * written for a person: the field named as the console names it, no JSON property in
 * camelCase, none of class-validator's default phrasings, no regular expression. The walk
 * finds every DTO class by loading each source file that uses class-validator, then sends each
 * of its properties a range of wrong values.
 */

const SRC = join(__dirname, '..');

function sourcesUsingClassValidator(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourcesUsingClassValidator(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.spec.ts') && readFileSync(p, 'utf8').includes("from 'class-validator'") ? [p] : [];
  });
}

const WRONG: unknown[] = [null, 12345, -1, 1.5, 1e12, '', ' ', 'x'.repeat(5000), 'Not valid!', 'javascript:alert(1)', 'http://', 'ftp://x.example', '#12', {}, { a: { b: 1 } }, [], [1], ['x'], Array.from({ length: 600 }, () => 'x'), true, 'true', '2025-13-45', '00000000-0000-0000-0000-000000000000'];

/** What reads like a validator dump rather than a sentence. */
const JARGON: [string, RegExp][] = [
  ['a camelCase identifier', /\b[a-z]+[A-Z][A-Za-z]*\b/],
  ['class-validator default', /must be a string\b|must be an integer number|must be a boolean value|should not be empty|should not exist|longer than or equal|shorter than or equal|must contain (?:no more than|at least) \d+ elements|must not be (?:greater|less) than|nested property|each value in|either object or array|must be a UUID$/],
  ['regular-expression text', /\^|\$\/|\\[dswb]|\[a-z|\(\?:/],
  ['a lower-case or numeric start (a property name, not a label)', /^[a-z0-9]/],
];

function jargonIn(message: string): string[] {
  return JARGON.filter(([, re]) => re.test(message)).map(([what]) => what);
}

describe('validation messages are for a person', () => {
  const files = sourcesUsingClassValidator(SRC);
  for (const f of files) require(f);
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<Function, { target: Function; propertyName: string }[]> };
  const metas = [...storage.validationMetadatas.values()].flat();
  const classes = [...new Set(metas.map((m) => m.target).filter((t): t is Function => typeof t === 'function'))];

  it('finds the DTO classes (the walk below is not empty)', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(classes.map((c) => c.name)).toEqual(expect.arrayContaining(['CreateTenantDto', 'UpdateTenantDto', 'CreateTargetDto', 'CreateUserDto', 'BrandingDto', 'GroupNameDto', 'PutAccessDto', 'CreateTrustedIssuerDto', 'PageQueryDto']));
  });

  it('no DTO field answers a wrong value with a camelCase name, a validator default or a regular expression', async () => {
    const bad: string[] = [];
    let seen = 0;
    for (const cls of classes) {
      const props = new Set(metas.filter((m) => m.target === cls).map((m) => m.propertyName));
      for (const prop of [...props, '']) {
        for (const value of prop ? WRONG : [undefined]) {
          const input = prop ? { [prop]: value } : {};
          const errors = await validate(plainToInstance(cls as new () => object, input) as object, { whitelist: true, forbidNonWhitelisted: true }).catch(() => []);
          for (const p of problemsOf(errors)) {
            seen++;
            const found = jargonIn(p.message);
            if (found.length) bad.push(`${cls.name}.${p.field} = ${JSON.stringify(value)?.slice(0, 20)}: "${p.message}" (${found.join(', ')})`);
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(200);
    expect([...new Set(bad)]).toEqual([]);
  });

  it("rewords class-validator's defaults and names the field by its label", () => {
    expect(personMessage('logoutLandingUrl', 'logoutLandingUrl must be shorter than or equal to 2048 characters')).toBe('After sign-out address must be at most 2048 characters long');
    expect(personMessage('clientId', 'clientId must be longer than or equal to 1 and shorter than or equal to 500 characters')).toBe('Client id must be 1 to 500 characters long');
    expect(personMessage('groups', 'each value in groups must be a string')).toBe('Each value of Groups must be text');
    expect(personMessage('fooBar', 'property fooBar should not exist')).toBe('"fooBar" is not a field this accepts');
    for (const m of ['Accent colour must be a colour written #rrggbb (six hex digits)', 'Slug must not be empty']) expect(jargonIn(m)).toEqual([]);
    // The spec's own detector: each of these must be caught.
    for (const m of ['logoutLandingUrl must be a URL', 'Name must be a string', 'Slug must match /^[a-z0-9-]+$/ regular expression', 'email must be an email address']) expect(jargonIn(m)).not.toEqual([]);
  });

  it("the admin API's 400 keeps its shape: the problems in words, their JSON paths in fields", async () => {
    const { CreateTenantDto } = await import('../tenants/dto/tenant.dto');
    const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationException });
    const e = await pipe.transform({ slug: 'Not A Slug', name: '', logoutLandingUrl: 'ftp://x', branding: { accentColor: 'red' }, extraField: 1 }, { type: 'body', metatype: CreateTenantDto }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestException);
    const body = (e as BadRequestException).getResponse() as { message: string[]; fields: string[] };
    expect(body.message.length).toBe(body.fields.length);
    expect(body.fields).toEqual(expect.arrayContaining(['slug', 'name', 'logoutLandingUrl', 'branding.accentColor', 'extraField']));
    expect(body.message).toEqual(expect.arrayContaining([expect.stringMatching(/^Slug /), expect.stringMatching(/^After sign-out address /), expect.stringMatching(/^Accent colour /), '"extraField" is not a field this accepts']));
    for (const m of body.message.filter((x) => !x.startsWith('"'))) expect([m, jargonIn(m)]).toEqual([m, []]);
  });
});
