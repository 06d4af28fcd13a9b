#define INET 1
