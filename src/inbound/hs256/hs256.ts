import type { InboundSourceFolder } from '../inbound-source';
import { HandoffAdminController } from './handoff-admin.controller';
import { HandoffConfigService } from './handoff-config.service';
import { HandoffKeys } from './handoff-keys';
import { Hs256HandoffSource } from './hs256.source';

/** The host app's HS256 hand-off assertion, signed with a secret we issue to the tenant. */
export const hs256: InboundSourceFolder = {
  name: 'hs256',
  providers: [HandoffConfigService, HandoffKeys, Hs256HandoffSource],
  controllers: [HandoffAdminController],
  handoff: Hs256HandoffSource,
};
