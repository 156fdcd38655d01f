import { z } from 'zod';
import type { Envelope } from './envelope';

/**
 * Message types and their payload schemas, per version.
 *
 * Each (type, version) has one zod schema. The highest registered version of a type is its
 * current version: producers normally emit it, handlers always receive it. Older versions stay
 * registered with an upcaster to the next version, so a consumer that has been upgraded still
 * reads what old producers (or the backlog, or the dead-letter topic) hold.
 */

export interface MessageDefinition<Type extends string = string, Payload = unknown> {
  readonly type: Type;
  readonly version: number;
  readonly schema: z.ZodType<Payload>;
}

/** Declares a (type, version) and its payload schema. The payload type follows from the schema. */
export function defineMessage<const Type extends string, Schema extends z.ZodType>(definition: {
  readonly type: Type;
  readonly version: number;
  readonly schema: Schema;
}): MessageDefinition<Type, z.output<Schema>> {
  if (definition.type.trim() === '') throw new RangeError('message type must not be empty');
  if (!Number.isInteger(definition.version) || definition.version < 1) {
    throw new RangeError(
      `${definition.type}: version must be an integer >= 1, got ${definition.version}`,
    );
  }
  // Sound: a schema's output type is by definition z.output of it; TypeScript cannot see it generically.
  const schema = definition.schema as z.ZodType<z.output<Schema>>;
  return Object.freeze({ type: definition.type, version: definition.version, schema });
}

/** Turns a payload of `from` (version n) into a payload of `to` (version n + 1). */
export interface Upcaster {
  readonly from: MessageDefinition;
  readonly to: MessageDefinition;
  readonly upcast: (payload: unknown) => unknown;
}

export function defineUpcaster<Type extends string, From, To>(
  from: MessageDefinition<Type, From>,
  to: MessageDefinition<Type, To>,
  upcast: (payload: From) => To,
): Upcaster {
  if (from.type !== to.type) {
    throw new RangeError(`upcaster from ${from.type} to ${to.type}: types differ`);
  }
  if (to.version !== from.version + 1) {
    throw new RangeError(
      `upcaster for ${from.type}: goes from v${from.version} to v${to.version}; each upcaster moves exactly one version`,
    );
  }
  // The registry only calls it with a payload that `from.schema` accepted.
  return { from, to, upcast: (payload) => upcast(payload as From) };
}

/** Why a message was refused; each reason is also the dead-letter reason. */
export type MessageRejectionReason =
  'unknown-type' | 'future-version' | 'unsupported-version' | 'invalid-payload';

/** A message that this registry cannot accept. Never worth retrying. */
export abstract class MessageValidationError extends Error {
  abstract readonly reason: MessageRejectionReason;

  constructor(
    message: string,
    readonly messageType: string,
    readonly schemaVersion: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class UnknownMessageTypeError extends MessageValidationError {
  override readonly name = 'UnknownMessageTypeError';
  readonly reason = 'unknown-type';
}

/** Newer than the newest version this code knows: a producer was upgraded before this consumer. */
export class FutureSchemaVersionError extends MessageValidationError {
  override readonly name = 'FutureSchemaVersionError';
  readonly reason = 'future-version';
}

/** An old version with no schema registered any more (it was retired). */
export class UnsupportedSchemaVersionError extends MessageValidationError {
  override readonly name = 'UnsupportedSchemaVersionError';
  readonly reason = 'unsupported-version';
}

export class InvalidPayloadError extends MessageValidationError {
  override readonly name = 'InvalidPayloadError';
  readonly reason = 'invalid-payload';
}

/** Thrown while building a registry whose definitions do not fit together. */
export class RegistryDefinitionError extends Error {
  override readonly name = 'RegistryDefinitionError';
}

export type IncomingValidation =
  | {
      readonly ok: true;
      /** The envelope with the payload parsed and upcast: `schemaVersion` is the current one. */
      readonly envelope: Envelope;
      /** The version the producer wrote. */
      readonly receivedSchemaVersion: number;
    }
  | { readonly ok: false; readonly error: MessageValidationError };

interface TypeEntry {
  readonly versions: Map<number, MessageDefinition>;
  readonly upcasters: Map<number, Upcaster>;
  readonly current: MessageDefinition;
}

export class MessageRegistry {
  private readonly types = new Map<string, TypeEntry>();

  constructor(definitions: readonly MessageDefinition[], upcasters: readonly Upcaster[] = []) {
    const byType = new Map<string, Map<number, MessageDefinition>>();
    const add = (definition: MessageDefinition) => {
      const versions = byType.get(definition.type) ?? new Map<number, MessageDefinition>();
      byType.set(definition.type, versions);
      const existing = versions.get(definition.version);
      if (existing !== undefined && existing !== definition) {
        throw new RegistryDefinitionError(
          `${definition.type} v${definition.version} is defined twice`,
        );
      }
      versions.set(definition.version, definition);
    };
    definitions.forEach(add);
    for (const upcaster of upcasters) {
      add(upcaster.from);
      add(upcaster.to);
    }

    for (const [type, versions] of byType) {
      const upcastersOfType = new Map<number, Upcaster>();
      for (const upcaster of upcasters.filter((u) => u.from.type === type)) {
        if (upcastersOfType.has(upcaster.from.version)) {
          throw new RegistryDefinitionError(
            `${type}: two upcasters from v${upcaster.from.version}`,
          );
        }
        upcastersOfType.set(upcaster.from.version, upcaster);
      }
      const newest = Math.max(...versions.keys());
      const current = versions.get(newest);
      if (current === undefined) throw new RegistryDefinitionError(`${type}: no versions`);
      // Every older version that is still registered must reach the current one.
      for (const version of versions.keys()) {
        for (let v = version; v < newest; v++) {
          if (!upcastersOfType.has(v)) {
            throw new RegistryDefinitionError(
              `${type}: v${version} is registered but there is no upcaster from v${v} to v${v + 1}`,
            );
          }
        }
      }
      this.types.set(type, { versions, upcasters: upcastersOfType, current });
    }
  }

  /** The current (newest) definition of a type, if the type is known. */
  current(type: string): MessageDefinition | undefined {
    return this.types.get(type)?.current;
  }

  get knownTypes(): readonly string[] {
    return [...this.types.keys()];
  }

  /**
   * Checks a message before it is produced and returns it with the parsed payload. Throws a
   * MessageValidationError if the type or version is unknown or the payload does not match its
   * schema: a producer must never emit a message its consumers will dead-letter.
   */
  validateOutgoing<Payload>(envelope: Envelope<Payload>): Envelope<Payload> {
    const entry = this.types.get(envelope.type);
    if (entry === undefined) throw this.unknownType(envelope);
    const definition = entry.versions.get(envelope.schemaVersion);
    if (definition === undefined) throw this.unknownVersion(entry, envelope);
    const parsed = definition.schema.safeParse(envelope.payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        `${envelope.type} v${envelope.schemaVersion} (message ${envelope.id}): ${z.prettifyError(parsed.error)}`,
        envelope.type,
        envelope.schemaVersion,
        { cause: parsed.error },
      );
    }
    return { ...envelope, payload: parsed.data as Payload };
  }

  /**
   * Checks a received message and brings its payload to the current version's shape. Returns the
   * reason instead of throwing: every refusal is an expected outcome the consumer dead-letters.
   */
  validateIncoming(envelope: Envelope): IncomingValidation {
    const entry = this.types.get(envelope.type);
    if (entry === undefined) return { ok: false, error: this.unknownType(envelope) };
    const received = envelope.schemaVersion;
    const definition = entry.versions.get(received);
    if (definition === undefined) return { ok: false, error: this.unknownVersion(entry, envelope) };

    const parsed = definition.schema.safeParse(envelope.payload);
    if (!parsed.success) {
      return {
        ok: false,
        error: new InvalidPayloadError(
          `${envelope.type} v${received}: ${z.prettifyError(parsed.error)}`,
          envelope.type,
          received,
          { cause: parsed.error },
        ),
      };
    }
    let payload: unknown = parsed.data;
    for (let version = received; version < entry.current.version; version++) {
      const upcaster = entry.upcasters.get(version);
      const next = entry.versions.get(version + 1);
      // Both exist: the constructor checked the chain.
      if (upcaster === undefined || next === undefined) {
        return { ok: false, error: this.unknownVersion(entry, envelope) };
      }
      try {
        const upcast = next.schema.safeParse(upcaster.upcast(payload));
        if (!upcast.success) {
          return {
            ok: false,
            error: new InvalidPayloadError(
              `${envelope.type} v${received} upcast to v${version + 1}: ${z.prettifyError(upcast.error)}`,
              envelope.type,
              received,
              { cause: upcast.error },
            ),
          };
        }
        payload = upcast.data;
      } catch (error) {
        return {
          ok: false,
          error: new InvalidPayloadError(
            `${envelope.type} v${received}: upcaster to v${version + 1} threw: ${error instanceof Error ? error.message : String(error)}`,
            envelope.type,
            received,
            { cause: error },
          ),
        };
      }
    }
    return {
      ok: true,
      envelope: { ...envelope, schemaVersion: entry.current.version, payload },
      receivedSchemaVersion: received,
    };
  }

  private unknownType(envelope: Envelope): UnknownMessageTypeError {
    return new UnknownMessageTypeError(
      `unknown message type ${JSON.stringify(envelope.type)} (message ${envelope.id})`,
      envelope.type,
      envelope.schemaVersion,
    );
  }

  private unknownVersion(entry: TypeEntry, envelope: Envelope): MessageValidationError {
    const { type, schemaVersion } = envelope;
    if (schemaVersion > entry.current.version) {
      return new FutureSchemaVersionError(
        `${type} v${schemaVersion} is newer than the newest known version v${entry.current.version} (message ${envelope.id})`,
        type,
        schemaVersion,
      );
    }
    const known = [...entry.versions.keys()].sort((a, b) => a - b).join(', ');
    return new UnsupportedSchemaVersionError(
      `${type} v${schemaVersion} is not supported (known versions: ${known}) (message ${envelope.id})`,
      type,
      schemaVersion,
    );
  }
}

export interface CreateEnvelopeInput<Payload> {
  readonly id: string;
  /** A definition (sets the type and version and checks the payload) or a type name. */
  readonly type: string | MessageDefinition<string, Payload>;
  /** With a type name: defaults to 1. With a definition: must equal its version if given. */
  readonly schemaVersion?: number;
  readonly source: string;
  readonly time: Date | string;
  readonly key: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly payload: Payload;
}

/**
 * Builds an envelope. Ids and time are inputs (the caller's id generator and clock), never made
 * up here, so the same command always produces the same message.
 */
export function createEnvelope<Payload>(input: CreateEnvelopeInput<Payload>): Envelope<Payload> {
  const definition = typeof input.type === 'string' ? undefined : input.type;
  const type = definition?.type ?? (input.type as string);
  const schemaVersion = input.schemaVersion ?? definition?.version ?? 1;
  if (definition !== undefined && schemaVersion !== definition.version) {
    throw new RangeError(
      `${type}: schemaVersion ${schemaVersion} does not match the definition's v${definition.version}`,
    );
  }
  for (const [name, value] of [
    ['id', input.id],
    ['type', type],
    ['source', input.source],
    ['key', input.key],
    ['correlationId', input.correlationId],
  ] as const) {
    if (value.trim() === '') throw new RangeError(`envelope ${name} must not be empty`);
  }
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new RangeError(`envelope schemaVersion must be an integer >= 1, got ${schemaVersion}`);
  }
  const time = typeof input.time === 'string' ? new Date(input.time) : input.time;
  if (Number.isNaN(time.getTime())) {
    throw new RangeError(`envelope time is not a valid date: ${String(input.time)}`);
  }
  let payload = input.payload;
  if (definition !== undefined) {
    const parsed = definition.schema.safeParse(input.payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        `${type} v${schemaVersion} (message ${input.id}): ${z.prettifyError(parsed.error)}`,
        type,
        schemaVersion,
        { cause: parsed.error },
      );
    }
    payload = parsed.data;
  }
  return {
    id: input.id,
    type,
    schemaVersion,
    source: input.source,
    time: time.toISOString(),
    key: input.key,
    correlationId: input.correlationId,
    ...(input.causationId !== undefined && { causationId: input.causationId }),
    ...(input.traceparent !== undefined && { traceparent: input.traceparent }),
    ...(input.tracestate !== undefined && { tracestate: input.tracestate }),
    payload,
  };
}
