# A stand-in for DragonFly's <bsd.kmod.mk> (share/mk/bsd.kmod.mk, which includes
# sys/conf/kmod.mk and bsd.kern.mk), for the offline tests. Written from what those files do
# (2020 tree, commit f875a8eec7), modelling only what decides whether the FIRST make of an
# out-of-tree module in a fresh directory works on an installed system:
#
#  - the -I for standard headers is chosen while the Makefile is parsed: with no `@` link
#    yet, both -I@/../include and -I${DESTDIR}/usr/include; with `@`, -I@/../include when
#    @/../include exists, else -I${DESTDIR}/usr/include;
#  - the `@` link to ${SYSDIR} is made by the build itself, before the objects are compiled;
#  - `all` is the default target (bsd.init.mk's .MAIN), whatever the Makefile defines first;
#  - the warnings include -Wmissing-include-dirs, and -Werror is on (base compiler gcc80);
#  - opt_*.h named in SRCS are made empty unless the Makefile has a rule for them;
#  - SYSDIR, when not given, is looked for in ../.., ../../.., /sys, /usr/src/sys.
#
# The compiler is ./cc, which runs the host's gcc with the same include directories and
# warning flags (so a missing -I directory fails exactly as gcc fails it) and writes
# stand-in objects. The real files are exercised by scripts/check-kmod-dfly.sh against a
# DragonFly source tree.

STANDIN_DIR:=	${.PARSEDIR}
.MAIN: all
CC=		sh ${STANDIN_DIR}/cc

.for _dir in ${.CURDIR}/../.. ${.CURDIR}/../../.. /sys /usr/src/sys
.if !defined(SYSDIR) && exists(${_dir}/kern/)
SYSDIR=	${_dir}
.endif
.endfor
.if !defined(SYSDIR) || !exists(${SYSDIR}/kern)
.error "can't find kernel source tree"
.endif

CFLAGS=		-O2 -D_KERNEL -Wall -Wmissing-include-dirs -Werror -DKLD_MODULE -nostdinc -I. -I@
.if exists(@)
.if exists(@/../include)
CFLAGS+=	-I@/../include
.else
CFLAGS+=	-I${DESTDIR}/usr/include
.endif
.else
CFLAGS+=	-I@/../include -I${DESTDIR}/usr/include
.endif

OBJS=		${SRCS:N*.h:R:S/$/.o/g}
PROG=		${KMOD}.ko

all: ${PROG}

${PROG}: ${OBJS}
	${CC} -nostdlib -r -o ${.TARGET} ${OBJS}

${OBJS}: ${SRCS:M*.h}
.if !exists(@)
${OBJS}: @
.endif

.c.o:
	${CC} ${CFLAGS} -c ${.IMPSRC} -o ${.TARGET}

@:
	ln -s ${SYSDIR} ${.TARGET}

.for _h in ${SRCS:Mopt_*.h}
.if !target(${_h})
${_h}:
	touch ${.TARGET}
.endif
.endfor

clean:
	rm -f ${PROG} ${OBJS} ${SRCS:Mopt_*.h} @
