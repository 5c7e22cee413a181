/** The operator facts a source gives (status --check, check, plan) are part of the contract. */
export type { AccessCheck, AccountPlan, OperatorFacts } from '../contract.js'
