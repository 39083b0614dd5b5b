export * from './comparator';
export * from './system';
export * from './battery';
