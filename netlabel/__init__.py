"""NetLabel, the kernel side of labelnet: configuration, labeled sockets and the test harness."""

__all__: list[str] = []
