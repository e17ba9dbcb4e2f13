export * from './line-reader.js';
export * from './dot-data.js';
export * from './smtp-address.js';
