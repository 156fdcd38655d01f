export { assertNever, DomainError, replay, type Decider } from './decider';
