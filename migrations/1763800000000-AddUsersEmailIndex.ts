import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Emails are unique per tenant; the SSO flow also asks whether an email exists in ANOTHER
 * tenant using the same BI instance (the products key users by email alone), on every
 * handshake: that lookup needs an index on email by itself.
 */
export class AddUsersEmailIndex1763800000000 implements MigrationInterface {
  name = 'AddUsersEmailIndex1763800000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_users_email ON users (email)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_users_email`);
  }
}
