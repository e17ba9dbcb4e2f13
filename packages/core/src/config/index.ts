export * from './schema.js';
export * from './errors.js';
export * from './load.js';
export * from './history.js';
export { renderConfigDocs, configRows } from './docs.js';
export { splitDotted, resolvePath, getIn } from './walk.js';
