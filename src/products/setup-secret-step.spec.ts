import { targetDefinition } from './index';

describe('setup guides: a product-generated secret', () => {
  const target = { slug: 'mb', baseUrl: 'https://mb.example', settings: {} };
  it.each(['metabase', 'sisense', 'tableau'])('%s: asks to generate it until stored, then says it is set and how to replace it', (kind) => {
    const note = (secretsSet: string[]) => targetDefinition(kind)!.setupGuide!({ ...target, secretsSet }, 'https://idp.example', []).items.map((i) => i.note ?? '').join('\n');
    expect(note([])).toMatch(/Generate it \(/);
    expect(note([])).not.toContain('Set: this target has it');
    expect(note(['secret'])).toContain('Set: this target has it. To replace it');
    expect(note(['secret'])).not.toMatch(/^Generate it/m);
  });
});
