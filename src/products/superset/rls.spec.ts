import { DomainError } from '../../common/errors';
import { resolveAttribute } from '../attributes';
import { fillTemplate, parseTemplate, sqlLiteral, templateAttributes } from './rls';

/** Row-level security templates: every value either a SQL literal or a refusal naming it. */
describe('Superset RLS: attribute values as SQL literals', () => {
  it.each([
    ['a plain string', 'acme', "'acme'"],
    ['a single quote', "O'Brien", "'O''Brien'"],
    ['only quotes', "''", "''''''"],
    ['an injection attempt', "x' OR '1'='1", "'x'' OR ''1''=''1'"],
    ['a comment attempt', "acme'; DROP TABLE t; --", "'acme''; DROP TABLE t; --'"],
    ['unicode and an emoji', 'Zoë 東京 🎉', "'Zoë 東京 🎉'"],
    ['a Unicode right quote (not SQL\'s quote)', 'O’Brien', "'O’Brien'"],
    ['a newline', 'a\nb', "'a\nb'"],
    ['a numeric-looking string stays a string', '42', "'42'"],
    ['NaN as a string', 'NaN', "'NaN'"],
    ['Infinity as a string', 'Infinity', "'Infinity'"],
    ['the empty string', '', "''"],
    ['an integer', 42, '42'],
    ['a negative decimal', -1.5, '-1.5'],
    ['zero', 0, '0'],
    ['a big number', 1e21, '1e+21'],
    ['true', true, 'TRUE'],
    ['false', false, 'FALSE'],
  ] as const)('%s', (_what, value, literal) => {
    expect(sqlLiteral(value)).toBe(literal);
  });

  it.each([
    ['an array', ['a', 'b']],
    ['an object', { a: 1 }],
    ['null', null],
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a string with a NUL', 'a\u0000b'],
    // A backslash escapes the quote in MySQL/MariaDB, Snowflake, BigQuery, Databricks/Spark SQL
    // and ClickHouse, and the clause runs in whichever engine the dataset is on: refused.
    ['a backslash before a quote', "a\\'b"],
    ['a trailing backslash', 'a\\'],
    ['a backslash breaking out on a backslash-escaping engine', "\\' OR 1=1) #"],
    ['a bigint', BigInt(1)],
  ])('%s is no literal', (_what, value) => {
    expect(sqlLiteral(value)).toBeNull();
  });
});

describe('Superset RLS templates', () => {
  const layers = (access: Record<string, unknown> = {}, user: Record<string, unknown> = {}, tenant: Record<string, unknown> = {}) =>
    ({ access: { attributes: access }, user: { attributes: user }, tenant: { attributes: tenant } }) as never;

  it('fills each placeholder with its literal, access > user > tenant', () => {
    const l = layers({ customer_id: 7 }, { region: "Côte d'Or", customer_id: 8 }, { region: 'x', active: true });
    expect(fillTemplate('customer_id = {customer_id} AND region = {region} AND active = {active}', l)).toBe(
      "customer_id = 7 AND region = 'Côte d''Or' AND active = TRUE",
    );
  });

  it('agrees with resolveAttribute on every attribute value', () => {
    const l = layers({ a: 'access' }, { a: 'user', b: 2 }, { a: 'tenant', b: 3, c: false });
    for (const name of ['a', 'b', 'c']) expect(fillTemplate(`{${name}}`, l)).toBe(sqlLiteral(resolveAttribute(l, name)));
  });

  it('leaves a template without placeholders as written', () => {
    expect(fillTemplate("status <> 'deleted'", layers())).toBe("status <> 'deleted'");
  });

  const refusal = (template: string, l: never) => {
    try {
      fillTemplate(template, l);
    } catch (e) {
      return e as DomainError;
    }
    throw new Error('not refused');
  };

  it('refuses a missing attribute with a 400 naming it (never a clause without it)', () => {
    const e = refusal('customer_id = {customer_id}', layers({}, { other: 1 }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('rls_attribute_missing');
    expect(e.message).toContain('"customer_id"');
    expect(e.details).toEqual({ attribute: 'customer_id' });
  });

  it.each([
    ['an array', ['a']],
    ['an object', { x: 1 }],
    ['null', null],
    ['a string with a NUL', 'a\u0000'],
  ])('refuses %s with a 400 naming the attribute, even when a less trusted layer has a usable value', (_what, value) => {
    const e = refusal('customer_id = {customer_id}', layers({ customer_id: value }, { customer_id: 'user-value' }, { customer_id: 'tenant-value' }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('rls_attribute_not_literal');
    expect(e.message).toContain('"customer_id"');
  });

  it.each([
    ['customer_id = {customer_id', /never closed/],
    ['customer_id = customer_id}', /closes no/],
    ['{a{b}}', /never closed/],
    ['x = {}', /not an attribute name/],
    ['x = {1abc}', /not an attribute name/],
    ['x = {a b}', /not an attribute name/],
    ["x = {a'}", /not an attribute name/],
  ])('rejects the template %j at configuration time', (template, problem) => {
    const parsed = parseTemplate(template);
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });

  it('lists the attributes a template reads', () => {
    expect(templateAttributes('a = {x} AND b IN ({y}, {x.z})')).toEqual(['x', 'y', 'x.z']);
  });
});
