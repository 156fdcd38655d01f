/** Postgres schema holding the event store's tables. */
export const SCHEMA = 'event_store';

/** LISTEN/NOTIFY channel the events trigger notifies after each committed append. */
export const APPENDS_CHANNEL = 'platform_events';
