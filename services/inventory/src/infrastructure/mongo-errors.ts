import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** Server error codes that mean "the server is going away or not ready", not "your request is wrong". */
const UNAVAILABLE_CODES = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);

/**
 * True when a MongoDB error says the server cannot be reached (down, restarting, connection cut),
 * as opposed to an error in the request. The handlers turn these into DependencyUnavailableError
 * so the consumer waits for the database instead of spending attempts and dead-lettering.
 */
export function isMongoUnavailable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  ) {
    return true;
  }
  return (
    error instanceof MongoError &&
    typeof error.code === 'number' &&
    UNAVAILABLE_CODES.has(error.code)
  );
}
