#include <sys/stdint.h>
