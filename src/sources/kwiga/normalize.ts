/**
 * Raw KWIGA items → warehouse rows. Pure and total: an item that cannot be keyed throws RejectError
 * (the stream quarantines it); a bad nested item is skipped and reported in `rejects`.
 */

export { recordKeyOf, requireItem } from './normalize-item.js'
export * from './normalize-contact.js'
export * from './normalize-dimensions.js'
