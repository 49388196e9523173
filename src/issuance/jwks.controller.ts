import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/route-protection';
import { notFound } from '../common/errors';
import { ApiErrors, Responds } from '../common/openapi';
import { SsoError } from '../catalog/sso.errors';
import { TargetsService } from '../catalog/targets.service';
import { TargetKeysService } from '../catalog/target-keys';

/**
 * Verifiers cache a JWKS (Grafana 60 min by default); ours may be cached 5 minutes more on
 * the way. The publication delay of a new key (SIGNING_KEY_PUBLICATION_DELAY, 70 min by
 * default) covers both, so no verifier meets a kid it has not fetched.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The public keys of key-pair targets as JWK Sets (RFC 7517 §5): every published key of
 * every such target at /.well-known/jwks.json, one target's at /targets/<slug>/jwks.json
 * (what a product should be given: only that target's tokens verify with it).
 */
@ApiTags('sso')
@Public()
@Controller()
export class JwksController {
  constructor(
    private readonly keys: TargetKeysService,
    private readonly targets: TargetsService,
  ) {}

  @Get('.well-known/jwks.json')
  @Responds({ 200: 'Every published signing key of every key-pair target (JWK Set)' })
  async all(@Res() res: Response): Promise<void> {
    send(res, await this.keys.publishedJwks());
  }

  @Get('targets/:slug/jwks.json')
  @Responds({ 200: "The target's published signing keys (JWK Set)" })
  @ApiErrors({ 404: 'No such target' })
  async ofTarget(@Param('slug') slug: string, @Res() res: Response): Promise<void> {
    const target = await this.targets.findBySlug(slug);
    if (!target) throw notFound(SsoError.TargetNotFound);
    send(res, await this.keys.targetJwks(target.id));
  }
}

function send(res: Response, keys: object[]): void {
  res.setHeader('Content-Type', 'application/jwk-set+json');
  res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  // Public keys, fetched by servers and by browser SDKs alike.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.status(200).send(JSON.stringify({ keys }));
}
