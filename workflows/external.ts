/**
 * The external harness's protocol: what a client may ask of a run whose agent lives
 * outside simlab. Shared by the run workflow (handlers), the API (callers) and the
 * client library's types; importing it pulls in no workflow code, only definitions.
 *
 * Every request is a Temporal update, so each one is durable and visible in the run's
 * history; payloads stay far below Temporal's 2 MB limit thanks to EXTERNAL_MAX_BYTES.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** The most a file write, a file read, or a command's output may carry, in bytes (1 MiB). */
export const EXTERNAL_MAX_BYTES = 1024 * 1024;
/** Base64 grows 4 bytes for every 3. */
export const EXTERNAL_MAX_BASE64_CHARS = Math.ceil(EXTERNAL_MAX_BYTES / 3) * 4;
/** The exact size of what a base64 string decodes to (padding accounted for), without decoding it. */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}
export const EXTERNAL_EXEC_DEFAULT_TIMEOUT_SECONDS = 600;
export const EXTERNAL_EXEC_MAX_TIMEOUT_SECONDS = 3600;
export const EXTERNAL_MAX_COMMAND_CHARS = 65536;
export const EXTERNAL_MAX_PATH_CHARS = 4096;

/**
 * Failure types of external requests, as the API maps them to HTTP statuses. A rejection
 * (validator) never reaches the history; the others are failed updates recorded in it.
 */
export const EXTERNAL_ERRORS = {
  /** The run is not in a state to take this request (not ready, scoring, ended, not external). */
  rejected: 'ExternalRequestRejected',
  /** The request itself is malformed (missing path, bad timeout). */
  invalid: 'ExternalRequestInvalid',
  /** A file or output larger than EXTERNAL_MAX_BYTES. */
  tooLarge: 'ExternalTooLarge',
  /** The file to read does not exist, or is not a regular file the agent can read. */
  notFound: 'ExternalFileNotFound',
  /** The sandbox could not carry out the request (gone, Docker error). */
  failed: 'ExternalRequestFailed',
} as const;

export interface ExecRequest {
  command: string;
  /** Default EXTERNAL_EXEC_DEFAULT_TIMEOUT_SECONDS, at most EXTERNAL_EXEC_MAX_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
}

export interface ExecResponse {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Output beyond EXTERNAL_MAX_BYTES was dropped (the beginning of it). */
  truncated: boolean;
  durationMs: number;
}

export interface WriteFileRequest {
  /** Absolute, or relative to the agent's home. */
  path: string;
  contentBase64: string;
}

export interface WriteFileResponse {
  path: string;
  bytes: number;
}

export interface ReadFileRequest {
  path: string;
}

export interface ReadFileResponse {
  path: string;
  contentBase64: string;
  bytes: number;
}

export interface ExternalVerdict {
  score: number | null;
  passed: boolean | null;
}

export interface ExternalState {
  /** True once the sandbox is provisioned and the run waits for requests. */
  ready: boolean;
  /** Scoring was asked for and is under way. */
  scoring: boolean;
  scored: boolean;
  /** The run is ending (complete, cancel, idle timeout) or has ended: no more requests. */
  ended: boolean;
  verdict: ExternalVerdict | null;
  /** The run's harness is external (only then do the updates apply). */
  external: boolean;
  idleTimeoutSeconds: number | null;
}

export interface ScoreResponse {
  /** Scoring runs in the background: poll the state (externalState) until `scored`. */
  scoring: boolean;
}

export interface EndResponse {
  status: 'completed' | 'cancelled' | 'failed';
  verdict: ExternalVerdict | null;
}

export const externalExec = defineUpdate<ExecResponse, [ExecRequest]>('external.exec');
export const externalWriteFile = defineUpdate<WriteFileResponse, [WriteFileRequest]>('external.writeFile');
export const externalReadFile = defineUpdate<ReadFileResponse, [ReadFileRequest]>('external.readFile');
export const externalScore = defineUpdate<ScoreResponse, []>('external.score');
export const externalComplete = defineUpdate<EndResponse, []>('external.complete');
export const externalCancel = defineUpdate<EndResponse, []>('external.cancel');
export const externalStateQuery = defineQuery<ExternalState>('externalState');

/** Requests of one external run in progress at once: the rest of its host's runs need slots too. */
export const EXTERNAL_MAX_IN_FLIGHT = 2;
