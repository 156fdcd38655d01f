/**
 * An event's schema version is newer than this code knows (written by a newer deployment), or an
 * append asks for such a version. Reading it as the current shape would misread it silently.
 */
export class UnknownSchemaVersionError extends Error {
  override readonly name = 'UnknownSchemaVersionError';

  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      `event type ${eventType} has schema version ${schemaVersion}, ` +
        `but this code knows versions up to ${currentVersion}; deploy the newer code or add the version`,
    );
  }
}

/**
 * An event with this id (metadata.messageId) is already stored. Usually a retried append whose
 * first attempt committed; the caller decides whether that is success.
 */
export class DuplicateEventError extends Error {
  override readonly name = 'DuplicateEventError';

  constructor(
    readonly streamId: string,
    readonly messageIds: readonly string[],
  ) {
    super(
      `stream ${streamId}: an event with one of the ids ${messageIds.join(', ')} already exists`,
    );
  }
}
