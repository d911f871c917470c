"""The shape of a key: `pk` and `sk`."""

Key = dict[str, str]
