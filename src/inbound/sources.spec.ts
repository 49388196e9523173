import * as fs from 'node:fs';
import * as path from 'node:path';
import { INBOUND_SOURCES } from './sources';

/**
 * The inbound identity sources are one folder each, listed in sources.ts: the list drives the
 * module, the hand-off's sources and home-realm discovery, and the shared code names no
 * source — so another (SAML 2.0, say) is one more folder and a line in the list.
 */
describe('inbound sources', () => {
  const here = __dirname;
  const folders = fs.readdirSync(here, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

  it('lists every folder of src/inbound once, by its name, and nothing else', () => {
    expect(INBOUND_SOURCES.map((s) => s.name).sort()).toEqual([...folders].sort());
  });

  it('asks the HS256 hand-off after the trusted issuers (it takes any iss as a slug) and the password form last (it takes any email)', () => {
    const handoff = INBOUND_SOURCES.filter((s) => s.handoff).map((s) => s.name);
    const signIn = INBOUND_SOURCES.filter((s) => s.signIn).map((s) => s.name);
    expect(handoff[handoff.length - 1]).toBe('hs256');
    expect(signIn[signIn.length - 1]).toBe('password');
  });

  it('gives each a way in: a hand-off source or a sign-in source', () => {
    for (const s of INBOUND_SOURCES) expect({ name: s.name, wayIn: Boolean(s.handoff || s.signIn) }).toEqual({ name: s.name, wayIn: true });
  });

  it.each(['handoff.service.ts', 'sign-in-sources.ts', 'company-sign-in.controller.ts', 'handoff-login.controller.ts', 'inbound-source.ts'])(
    'shared %s names no source (imports none of their folders, quotes none of their names)',
    (file) => {
      const text = fs.readFileSync(path.join(here, file), 'utf8');
      for (const folder of folders) expect(text).not.toMatch(new RegExp(`from '\\./${folder}/`));
      for (const name of ['hs256', 'trusted_issuer', 'oidc_upstream']) expect(text).not.toMatch(new RegExp(`\\b${name}\\b`));
      expect(text).not.toMatch(/'password'/);
    },
  );
});
