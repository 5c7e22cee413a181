/** The stream contract moved to `src/contract.ts`; this re-export keeps older imports working. */
export type {
  Batch,
  Progress,
  RejectInput,
  SourceDeps,
  SourceModule,
  Stream,
  StreamContext,
  StreamState,
  SyncOptions,
  SeenFields,
  OperatorFacts,
  AccessCheck,
  AccountPlan,
} from '../contract.js'
