import { CreateSchema1763700000000 } from './1763700000000-CreateSchema';

/** Every migration, in order. `npm run migration:generate` appends here. */
export const MIGRATIONS = [CreateSchema1763700000000];
