import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's look on the login, signed-out and error pages (issue 13 item 9). The CHECKs are
 * the rules of src/common/look.ts, so no row can carry a colour or logo URL the pages would
 * have to refuse.
 */
export class AddTenantBranding1764700000000 implements MigrationInterface {
  name = 'AddTenantBranding1764700000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN brand_display_name varchar(200),
        ADD COLUMN brand_logo_url varchar(2048),
        ADD COLUMN brand_accent_color varchar(7),
        ADD COLUMN brand_support_contact varchar(2048),
        ADD CONSTRAINT ck_tenants_brand_accent_color CHECK (brand_accent_color ~ '^#[0-9a-f]{6}$'),
        ADD CONSTRAINT ck_tenants_brand_logo_url CHECK (brand_logo_url ~ '^https://')`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenants
        DROP CONSTRAINT ck_tenants_brand_logo_url,
        DROP CONSTRAINT ck_tenants_brand_accent_color,
        DROP COLUMN brand_support_contact,
        DROP COLUMN brand_accent_color,
        DROP COLUMN brand_logo_url,
        DROP COLUMN brand_display_name`);
  }
}
