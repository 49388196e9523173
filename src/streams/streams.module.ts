import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CatalogModule } from '../catalog/catalog.module';
import { CryptoModule } from '../crypto/crypto.module';
import { AuditStream, AuditStreamDelivery } from './audit-stream.entity';
import { AuditStreamPruner } from './audit-stream-pruner';
import { AuditStreamWorker } from './audit-stream-worker';
import { AuditStreamsService } from './audit-streams.service';

/** Audit streams: destinations for audit events (Standard Webhooks) and their delivery worker. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditStream, AuditStreamDelivery]), AuditModule, CatalogModule, CryptoModule],
  providers: [AuditStreamsService, AuditStreamWorker, AuditStreamPruner],
  exports: [AuditStreamsService, AuditStreamWorker, AuditStreamPruner],
})
export class StreamsModule {}
