// Building slapd instances the way tiermail runs them (tests, local stack).
export { slapdConfigLdif, TIERMAIL_EQ_INDEXES, type SlapdConfigOptions } from './config.js';
export { demoDns, demoLdif, suffixLdif, DEMO_DEFAULTS, type DemoOptions } from './demo.js';
export {
  defaultSchemaPath,
  initSlapdDirectory,
  locateSlapd,
  slapdArgs,
  type InitSlapdOptions,
  type SlapdBinaries,
  type SlapdInstance,
} from './instance.js';
export { escapeDnValue, ldifEntry, ldifJoin, ldifLine, type LdifAttributes, type LdifValue } from './ldif.js';
