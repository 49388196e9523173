import { DomainError } from '../common/errors';
import { assertNoOperatorFields, authorizeAdmin } from './admin-scope';
import { OperatorOnly, operatorOnlyFields, RouteScope } from '../common/route-protection';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const globalKey = { keyId: 'k0', tenantId: null };
const keyOfA = { keyId: 'k1', tenantId: A };

const outcome = (fn: () => void): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof DomainError ? `${e.status} ${e.code}` : `threw ${String(e)}`;
  }
};

describe('authorizeAdmin', () => {
  const global: RouteScope = { kind: 'global', operatorOnly: true };
  const tenant: RouteScope = { kind: 'tenant', operatorOnly: false };
  const tenantOperator: RouteScope = { kind: 'tenant', operatorOnly: true };

  it.each([
    ['global key, global route', globalKey, global, undefined, 'ok'],
    ['global key, any tenant', globalKey, tenant, B, 'ok'],
    ['global key, operator-only tenant route', globalKey, tenantOperator, B, 'ok'],
    ['scoped key, global route', keyOfA, global, undefined, '403 global_key_required'],
    ['scoped key, its own tenant', keyOfA, tenant, A, 'ok'],
    ['scoped key, no tenant in the path (handler filters)', keyOfA, tenant, undefined, 'ok'],
    ['scoped key, another tenant', keyOfA, tenant, B, '404 tenant_not_found'],
    ['scoped key, operator-only route of its tenant', keyOfA, tenantOperator, A, '403 global_key_required'],
    ['scoped key, operator-only route of another tenant: the 404 that tells nothing', keyOfA, tenantOperator, B, '404 tenant_not_found'],
  ] as const)('%s -> %s', (_name, principal, scope, tenantId, expected) => {
    expect(outcome(() => authorizeAdmin(principal, scope, tenantId))).toBe(expected);
  });
});

describe('operator-only fields', () => {
  class Base {
    @OperatorOnly() disabled?: boolean;
    name?: string;
  }
  class Extended extends Base {
    @OperatorOnly() domains?: string[];
  }

  it('are read from the DTO class, its parents included', () => {
    expect(operatorOnlyFields(Base)).toEqual(['disabled']);
    expect(operatorOnlyFields(Extended)).toEqual(['disabled', 'domains']);
    expect(operatorOnlyFields(undefined)).toEqual([]);
  });

  it('refuse a scoped key sending one, whatever its value; never the global key', () => {
    const fields = operatorOnlyFields(Extended);
    expect(outcome(() => assertNoOperatorFields(keyOfA, fields, { name: 'x', disabled: false }))).toBe('403 operator_only_field');
    expect(outcome(() => assertNoOperatorFields(keyOfA, fields, { domains: null }))).toBe('403 operator_only_field');
    expect(outcome(() => assertNoOperatorFields(keyOfA, fields, { name: 'x' }))).toBe('ok');
    expect(outcome(() => assertNoOperatorFields(keyOfA, fields, [1, 2]))).toBe('ok');
    expect(outcome(() => assertNoOperatorFields(globalKey, fields, { disabled: true }))).toBe('ok');
  });
});
