// The directory client: typed users, groups and domains from LDAP, cached, with failover.
export { parseAddress, normalizeDomain, type ParsedAddress } from './address.js';
export { LookupCache, normalizeDn, type CacheOptions, type Loaded } from './cache.js';
export {
  Directory,
  type DirectoryLogger,
  type DirectoryOptions,
  type DirectoryStats,
  type GroupMembers,
} from './client.js';
export {
  DOMAIN_ATTRIBUTES,
  GROUP_ATTRIBUTES,
  USER_ATTRIBUTES,
  isUserActive,
  parseGeneralizedTime,
  parseInteger,
  parseQuota,
  toDomain,
  toGroup,
  toUser,
  type AutoReply,
  type DeliveryOption,
  type DirectoryDomain,
  type DirectoryGroup,
  type DirectoryUser,
  type EntryStatus,
} from './entries.js';
export {
  DirectoryDataError,
  DirectoryError,
  DirectoryNotFoundError,
  DirectoryUnavailableError,
  type DirectoryKind,
  type FailedAttempt,
} from './errors.js';
export { isServerFailure, isTimeout, OperationTimeoutError, ServerUnusableError } from './failures.js';
export { LdapPool, type LdapSession, type PoolEvent, type PoolOptions } from './pool.js';
export { serviceAccessAllows, ServiceAccessError } from './service-access.js';
export { directoryInvalidationChannel, followDirectoryInvalidations, publishDirectoryInvalidation } from './invalidation.js';
