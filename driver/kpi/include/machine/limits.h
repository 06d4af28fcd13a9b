#include <sys/limits.h>
