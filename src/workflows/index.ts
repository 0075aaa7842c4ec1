// The workflow bundle's entry point: every workflow type the worker registers.
export { qualysSync } from './qualys-sync';
export { connectionLock } from './connection-lock';
