export * from './types';
export { DockerSandboxProvider } from './docker/provider';
export { HomeDisks } from './docker/homeDisk';
export { LABELS } from './docker/labels';
