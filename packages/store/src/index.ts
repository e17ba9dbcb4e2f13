// The store backend; the engine and LMTP server land with issue 4.
export {};
