export * from './service-log.js';
export * from './mail-log.js';
