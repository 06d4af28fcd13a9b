#include <sys/stdarg.h>
