export * from './types';
export { LocalArtifactStore } from './localStore';
