# sys.mk for the DragonFly module-build stand-in (see bsd.kmod.mk here): nothing from the
# host's make files, so only what the stand-in models takes part.
.SUFFIXES:
.SUFFIXES: .o .c
