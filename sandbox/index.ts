export * from './types';
export { DockerSandboxProvider } from './docker/provider';
export { LABELS } from './docker/labels';
