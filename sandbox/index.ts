export * from './types';
export { DockerSandboxProvider } from './docker/provider';
export { HomeDisks } from './docker/homeDisk';
export { SandboxNetworks } from './docker/network';
export { LABELS } from './docker/labels';
