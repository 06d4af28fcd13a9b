#include <machine/endian.h>
