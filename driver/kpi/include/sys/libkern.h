/* kpi: DragonFly-named <sys/libkern.h> */
#ifndef _SYS_LIBKERN_H_
#define _SYS_LIBKERN_H_
#include <sys/types.h>

static __inline int imax(int a, int b) { return (a > b ? a : b); }
static __inline int imin(int a, int b) { return (a < b ? a : b); }
static __inline long lmax(long a, long b) { return (a > b ? a : b); }
static __inline long lmin(long a, long b) { return (a < b ? a : b); }
static __inline u_int max(u_int a, u_int b) { return (a > b ? a : b); }
static __inline u_int min(u_int a, u_int b) { return (a < b ? a : b); }
static __inline u_long ulmax(u_long a, u_long b) { return (a > b ? a : b); }
static __inline u_long ulmin(u_long a, u_long b) { return (a < b ? a : b); }
static __inline size_t szmax(size_t a, size_t b) { return (a > b ? a : b); }
static __inline size_t szmin(size_t a, size_t b) { return (a < b ? a : b); }
static __inline int abs(int a) { return (a < 0 ? -a : a); }

size_t	strlen(const char *);
size_t	strnlen(const char *, size_t);
int	strcmp(const char *, const char *);
int	strncmp(const char *, const char *, size_t);
int	strcasecmp(const char *, const char *);
int	strncasecmp(const char *, const char *, size_t);
char	*strchr(const char *, int);
char	*strrchr(const char *, int);
char	*strstr(const char *, const char *);
char	*strncpy(char *, const char *, size_t);
char	*strcpy(char *, const char *);
char	*strcat(char *, const char *);
unsigned long strtoul(const char *, char **, int);
long	strtol(const char *, char **, int);
size_t	kpi_strlcpy(char *, const char *, size_t);
size_t	kpi_strlcat(char *, const char *, size_t);
#define strlcpy	kpi_strlcpy
#define strlcat	kpi_strlcat
#define index	strchr
#define rindex	strrchr
int	ffs(int);
int	fls(int);
uint32_t karc4random(void);
void	karc4rand(void *, size_t);
#endif
