// Shim for the CZstd system library: the one header Swift imports.
#include <zstd.h>
