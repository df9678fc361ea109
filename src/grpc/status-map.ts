import { status } from '@grpc/grpc-js';
import type { AppError, ErrorKind } from '../errors.js';

/** The one place that maps error kinds to gRPC statuses (docs/PROTOCOL.md, "Status map"). */
const STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  bad_input: status.INVALID_ARGUMENT,
  conflict: status.ABORTED,
  limit: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  timeout: status.DEADLINE_EXCEEDED,
  denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  interrupted: status.CANCELLED,
  internal: status.INTERNAL,
};

export function statusForKind(kind: ErrorKind): status {
  return STATUS_BY_KIND[kind];
}

/** What a client may read: the safe message, except for internal errors whose text stays in the log. */
export function clientMessage(error: AppError): string {
  return error.kind === 'internal' ? 'internal error' : error.message;
}
