import { Module } from '@nestjs/common';
import { LandingController } from './landing.controller';

/** The page at `/`. */
@Module({ controllers: [LandingController] })
export class LandingModule {}
