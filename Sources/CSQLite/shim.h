// Shim for the CSQLite system library: the one header Swift imports.
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro cast of -1 to a function pointer, which Swift cannot import.
static inline void (*lh_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
