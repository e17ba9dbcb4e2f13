export * from './config/index.js';
export * from './log/index.js';
export * from './redis.js';
export * from './metrics.js';
export * from './provisioning/index.js';
