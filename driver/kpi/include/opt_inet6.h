#define INET6 1
