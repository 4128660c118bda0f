/** Errors of the payload drivers: a stable code (TPX_DRIVER_*) and data; src/cli turns them into words. */
import { TpxError } from '../errors.js';

export type DriverErrorCode =
  | 'TPX_DRIVER_PACKAGE'
  | 'TPX_DRIVER_LOAD'
  | 'TPX_DRIVER_NOT_FOUND'
  | 'TPX_DRIVER_EXISTS'
  | 'TPX_DRIVER_ASSIGNMENT'
  | 'TPX_DRIVER_FUNCTION'
  | 'TPX_DRIVER_CLOSED';

export class DriverError extends TpxError {
  readonly data: Record<string, unknown>;
  constructor(code: DriverErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details: data, cause });
    this.data = data;
  }
}
