export * from './criteria';
export * from './schemas';
export * from './types';
export * from './validate';
export * from './normalize';
export * from './jsonSource';
