// Tag bytes of the Erlang external term format (erts-*/doc "External Term Format"), the ones the BERT codec
// writes, reads or names when it refuses them. One place, so the encoder, the decoder and the docs agree.

/** First byte of every term_to_binary output. */
export const VERSION = 131
/** `131, 80, UncompressedSize:32, ZlibData`: term_to_binary(T, [compressed]). */
export const COMPRESSED = 80

export const NEW_FLOAT = 70
export const BIT_BINARY = 77
export const ATOM_CACHE_REF = 82
export const NEW_PID = 88
export const NEW_PORT = 89
export const NEWER_REFERENCE = 90
export const SMALL_INTEGER = 97
export const INTEGER = 98
export const FLOAT = 99
export const ATOM = 100
export const REFERENCE = 101
export const PORT = 102
export const PID = 103
export const SMALL_TUPLE = 104
export const LARGE_TUPLE = 105
export const NIL = 106
export const STRING = 107
export const LIST = 108
export const BINARY = 109
export const SMALL_BIG = 110
export const LARGE_BIG = 111
export const NEW_FUN = 112
export const EXPORT = 113
export const NEW_REFERENCE = 114
export const SMALL_ATOM = 115
export const MAP = 116
export const FUN = 117
export const ATOM_UTF8 = 118
export const SMALL_ATOM_UTF8 = 119
export const V4_PORT = 120
export const LOCAL = 121

/** Valid external-format terms that have no JavaScript value here, with the name used in error messages. */
export const REFUSED_TERMS: ReadonlyMap<number, string> = new Map([
  [BIT_BINARY, 'a bitstring'],
  [ATOM_CACHE_REF, 'an atom cache reference'],
  [NEW_PID, 'a pid'],
  [PID, 'a pid'],
  [NEW_PORT, 'a port'],
  [PORT, 'a port'],
  [V4_PORT, 'a port'],
  [NEWER_REFERENCE, 'a reference'],
  [NEW_REFERENCE, 'a reference'],
  [REFERENCE, 'a reference'],
  [NEW_FUN, 'a fun'],
  [FUN, 'a fun'],
  [EXPORT, 'a fun'],
  [FLOAT, 'an old-style FLOAT_EXT (minor_version 0)'],
  [LOCAL, 'a LOCAL_EXT term'],
])
