import { parseAccessInput } from './access-input';
import { normaliseBaseUrl } from './target-input';

describe('parseAccessInput', () => {
  it('normalises a valid grant: duplicate groups folded, shared account email lower-cased', () => {
    const { value, problems } = parseAccessInput(
      {
        groupMappings: { analysts: ['Analysts', 'Analysts'] },
        attributes: { region: 'emea' },
        settings: { sharedAccount: { email: 'BI@Acme.Example' }, lockedParams: { customer: 'customerId' } },
      },
      'metabase',
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({
      groupMappings: { analysts: ['Analysts'] },
      attributes: { region: 'emea' },
      settings: { sharedAccount: { email: 'bi@acme.example' }, lockedParams: { customer: 'customerId' } },
    });
  });

  it('defaults omitted parts to empty (PUT replaces the whole grant)', () => {
    expect(parseAccessInput({}, 'sisense')).toEqual({ value: { groupMappings: {}, attributes: {}, settings: {} }, problems: [] });
  });

  it('names every problem, including settings meant for another product', () => {
    const { problems } = parseAccessInput(
      { colour: 1, settings: { metabaseTenantSlug: 'acme', externalValueAttribute: '' }, groupMappings: { a: 'b' } },
      'databricks',
    );
    expect(problems).toEqual([
      'colour is not a known field',
      'groupMappings.a must be a list of at most 100 product group names (1 to 200 characters each)',
      'settings.metabaseTenantSlug does not apply to databricks targets (only metabase)',
      'settings.externalValueAttribute must be an attribute name of 1 to 100 characters',
    ]);
  });

  it('refuses a body that is not an object', () => {
    expect(parseAccessInput([], 'metabase').problems).toEqual(['the body must be a JSON object']);
    expect(parseAccessInput(null, 'metabase').problems).toEqual(['the body must be a JSON object']);
  });
});

describe('normaliseBaseUrl', () => {
  it.each([
    ['https://bi.example.com/', 'https://bi.example.com'],
    ['https://BI.example.com:443/metabase/', 'https://bi.example.com/metabase'],
    ['http://10.0.0.5:3000', 'http://10.0.0.5:3000'],
  ])('%s -> %s', (raw, expected) => {
    const problems: string[] = [];
    expect(normaliseBaseUrl(raw, problems)).toBe(expected);
    expect(problems).toEqual([]);
  });

  it.each(['bi.example.com', 'javascript:alert(1)', 'https://bi.example.com/?', 'https://bi.example.com/#top', 'https://a:b@bi.example.com'])(
    'refuses %s',
    (raw) => {
      const problems: string[] = [];
      normaliseBaseUrl(raw, problems);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^baseUrl /);
    },
  );
});
