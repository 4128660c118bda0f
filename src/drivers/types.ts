/** Shapes shared by the driver modules. */

export type CodecFunction = 'decodeUplink' | 'encodeDownlink' | 'decodeDownlink';

/** One example of a driver (examples.json, or examples/*.examples.json in Actility's legacy layout). */
export interface DriverExample {
  description: string;
  type: 'uplink' | 'downlink-decode' | 'downlink-encode';
  /** uplink / downlink-decode: bytes (array or hex), fPort, recvTime; downlink-encode: data. */
  input: Record<string, unknown>;
  output: Record<string, unknown>;
}

/** A JSON schema as far as tpx reads it (uplink.schema.json / downlink.schema.json). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  description?: string;
  [k: string]: unknown;
}

/** What a driver package holds, read from disk (nothing run yet). */
export interface DriverPackage {
  /** package.json name, driver.yaml name, or the file name. */
  name: string;
  version?: string;
  description?: string;
  /** driver.yaml protocolId (`vendor:model:version`), when present. */
  protocolId?: string;
  /** driver.yaml signature (lora-alliance when empty). */
  signature?: string;
  /** driver.yaml useContext: a per-DevEUI `context` array is kept between calls. */
  useContext: boolean;
  /** The script, as one file. */
  code: string;
  /** The script's file name inside the package (for error messages). */
  main: string;
  examples: DriverExample[];
  uplinkSchema?: JsonSchema;
  downlinkSchema?: JsonSchema;
  /** Files the package holds (relative paths). */
  files: string[];
}

/**
 * Which devices a driver decodes. `field`: a path into the DevEUI_uplink document (e.g. `DriverCfg.id`,
 * `ModelCfg`, `DriverCfg.mod.mId`) and the value it must have (UNCONFIRMED that every ThingPark sends them).
 */
export type Assignment =
  | { type: 'deveui'; devEui: string }
  | { type: 'prefix'; prefix: string }
  | { type: 'range'; from: string; to: string }
  | { type: 'field'; path: string; value: string };

/** A driver as stored in the profile's driver registry. */
export interface DriverEntry {
  name: string;
  /** Where it was added from (file, folder or tarball path). */
  source: string;
  /** The copy tpx runs (a folder under the config directory). */
  dir: string;
  assign: Assignment[];
  /** ThingWorx template with the driver's typed properties (set by import-template --driver). */
  template?: string;
  addedAt: string;
}
