/**
 * The wire between the MCU and its host, as the host sees it: import from here, not from
 * the files behind it. The firmware takes only the pieces it needs (spec, crc32,
 * line-splitter) straight from their files so its bundle stays small.
 */
export * from './codec';
export { REASONS, MODES, KINDS, COMMANDS, SET_ARGS, FORCE_ARGS, LIMITS, limitText } from './spec';
export { crc32Table, hexUpper } from './crc32';
export { fastReading } from './fast-reading';
