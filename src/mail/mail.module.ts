import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { MailService } from './mail.service';

/** Outgoing mail: the outbox table and the worker that sends it (mail.service.ts). */
@Module({
  imports: [CryptoModule],
  providers: [MailService],
  exports: [MailService],
})
export class MailModule {}
