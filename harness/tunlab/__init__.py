"""tunlab: test and benchmark tun(4) drivers in QEMU guests driven over a serial line."""

__version__ = "0.1.0"
