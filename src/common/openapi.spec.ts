import { standardErrors } from './openapi';

/** Which errors a route documents from its protection and inputs alone (no annotation). */
describe('standardErrors', () => {
  const tenant = { kind: 'tenant', operatorOnly: false } as const;
  const cases: [string, Parameters<typeof standardErrors>[0], number[]][] = [
    ['public, takes nothing', { kind: 'public', bindsInput: false, hasPathParams: false }, []],
    ['public, a path naming something', { kind: 'public', bindsInput: true, hasPathParams: true }, [400, 404]],
    ['session, no input', { kind: 'session', bindsInput: false, hasPathParams: false }, []],
    ['api key, tenant-scoped list', { kind: 'api-key', bindsInput: true, hasPathParams: false, scope: tenant }, [400, 401]],
    ['api key, tenant path only', { kind: 'api-key', bindsInput: false, hasPathParams: true, scope: tenant }, [401, 404]],
    ['api key, operator field in the body', { kind: 'api-key', bindsInput: true, hasPathParams: true, scope: tenant, operatorFields: ['disabled'] }, [400, 401, 403, 404]],
    ['api key, global only', { kind: 'api-key', bindsInput: true, hasPathParams: false, scope: { kind: 'global', operatorOnly: true } }, [400, 401, 403]],
    ['api key, operator-only tenant route', { kind: 'api-key', bindsInput: false, hasPathParams: true, scope: { kind: 'tenant', operatorOnly: true } }, [401, 403, 404]],
    ['api key, no scope declared (the guard refuses every key)', { kind: 'api-key', bindsInput: false, hasPathParams: false }, [401, 403]],
  ];
  it.each(cases)('%s', (_name, facts, statuses) => {
    expect(Object.keys(standardErrors(facts)).map(Number)).toEqual(statuses);
  });

  it('names the operator-only fields in the 403', () => {
    expect(standardErrors({ kind: 'api-key', bindsInput: true, hasPathParams: false, scope: { kind: 'tenant', operatorOnly: false }, operatorFields: ['disabled'] })[403]).toContain('disabled');
  });
});
