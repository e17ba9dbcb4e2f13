export * from './input.js';
export * from './provisioner.js';
