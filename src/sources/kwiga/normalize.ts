/**
 * Raw KWIGA items → warehouse rows. Pure and total: an item that cannot be keyed throws RejectError,
 * which `normalizeItem` (crawl.ts) turns into the item's `Rejected` answer, as every normalizer
 * answers (contract.ts `Normalized`); a bad nested item is skipped and reported in `rejects`.
 */

export { recordKeyOf, requireItem } from './normalize-item.js'
export * from './normalize-contact.js'
export * from './normalize-dimensions.js'
