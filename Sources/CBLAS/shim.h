// Shim for the CBLAS system library: the one header Swift imports.
#include <cblas.h>
