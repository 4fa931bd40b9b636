/**
 * Where run artifacts (agent logs, home archives, later transcripts) are kept: behind an
 * interface, so that the API and every worker read them the same way. A local directory
 * today (artifacts/localStore); an object store shared by many hosts is one more
 * implementation.
 */
import type { Readable } from 'node:stream';

export interface ArtifactInfo {
  key: string;
  bytes: number;
  sha256: string;
}

export interface PutOptions {
  /** Refuse (and keep nothing) past this many bytes. */
  maxBytes?: number;
}

export class ArtifactTooLargeError extends Error {
  override readonly name = 'ArtifactTooLargeError';
}

export interface ArtifactStore {
  /** Stores a whole artifact; readers see it only once complete, never a partial one. */
  put(key: string, body: Buffer | NodeJS.ReadableStream, opts?: PutOptions): Promise<ArtifactInfo>;
  /** The artifact's bytes, or null when there is none under that key. */
  get(key: string): Promise<{ stream: Readable; bytes: number } | null>;
  delete(key: string): Promise<void>;
}

/** Keys are slash-separated names; the run's artifacts sit under its id. */
export const artifactKeys = {
  agentLog: (runId: string) => `${runId}/agent.log`,
  homeArchive: (runId: string) => `${runId}/home.tar.gz`,
  /** The home right after setup: what the agent's changes are measured against. */
  setupArchive: (runId: string) => `${runId}/setup-home.tar.gz`,
  /**
   * An image's home as a sandbox of it starts, archived once per image (by its content
   * digest): the setup archive of every run that changes nothing before its agent.
   */
  imageHome: (imageId: string) => `images/${imageId.replace(/^sha256:/, '')}/home.tar.gz`,
  /** Uploads are content-addressed per organization: the same zip is stored once. */
  upload: (organizationId: string, sha256: string) => `uploads/${organizationId}/${sha256}.zip`,
};
