export * from './comparator';
export * from './system';
