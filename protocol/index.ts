/**
 * The wire between the MCU and its host, as the host sees it: import from here, not from
 * the files behind it. The firmware takes only the pieces it needs (spec, crc32,
 * line-splitter) straight from their files so its bundle stays small, and its build
 * reads fields.ts to generate the MCU's reading writer.
 */
export { createCodec, encodeReading, decodeLine, fastReading } from './codec';
export type { Codec } from './codec';
export { encodeEvent, encodeReply } from './messages';
export { HANDOVER_COMMANDS, encodeCommand, handsOverMcu, validateCommand } from './commands';
export { sanitizeText } from './scan';
export type {
  Value, ExtraFields, ReadingHeader, ReadingValues, Reading, ReadingFrame, EventInfo, EventFrame, SimpleCommand, SetCommand,
  ForceCommand, Command, CommandFrame, Reply, ReplyFrame, Frame, RejectReason, DecodeFailure, DecodeResult, CommandCheck,
} from './frames';
export { READING_FIELDS, CHANNELS } from './fields';
export type { ReadingField, Channel, FieldUnit, FieldBlock, RequiredFieldKey, OptionalFieldKey } from './fields';
export { readingCodec } from './reading-codec';
export type { ReadingCodec } from './reading-codec';
export type { LineDecoder } from './line-decoder';
export { fastReadingDecoder } from './fast-reading';
export type { FastReadingDecoder } from './fast-reading';
export {
  PROTOCOL_VERSION, MAX_LINE_LENGTH, MAX_TEXT_LENGTH, WHY_RELEASED, WHY_BAT_LOW, WHY_SUN_DOWN, WHY_BAT_LOW_SUN_DOWN,
  WHY_FORCED_ON, WHY_FORCED_OFF, WHY_FLOOR, WHY_DWELL, WHY_FAILSAFE, WHY_BOOT, FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET,
  FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF, FLT_LOAD_RESET, FLT_LOAD_STALE, FLT_SOLAR_INVALID, FLT_SOLAR_STALE,
  FLT_STORAGE, FLT_ERROR, FLT_RESERVED, faultNames, REASONS, MODES, KINDS, COMMANDS, SET_ARGS, FORCE_ARGS, LIMITS, limitText,
} from './spec';
export type { CrcFn, FrameType, ChargerReason, ForceMode, EventKind, CommandName } from './spec';
export { LineSplitter } from './line-splitter';
export { crc32, crc32Table, hexUpper } from './crc32';
