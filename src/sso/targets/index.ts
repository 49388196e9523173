import type { TargetKind } from '../target.entity';
import { databricks } from './databricks';
import { metabase } from './metabase';
import { sisense } from './sisense';
import type { TargetDefinition } from './target-definition';

/** The products we serve. Adding one: a file beside this one, a line here, its tests. */
export const TARGET_DEFINITIONS: Record<TargetKind, TargetDefinition> = { metabase, sisense, databricks };

export function targetDefinition(kind: TargetKind): TargetDefinition {
  return TARGET_DEFINITIONS[kind];
}
